package firewall

import (
	"fmt"
	"net/netip"
	"sync"

	"github.com/google/nftables"
	"github.com/google/nftables/expr"
	"github.com/google/nftables/userdata"
)

// Family is the nftables family of a Table.
type Family int

// The families a Table can be made in.
const (
	INet Family = iota + 1 // IPv4 and IPv6 in one table
	IP                     // IPv4 only
	IP6                    // IPv6 only
)

func (f Family) String() string {
	switch f {
	case INet:
		return "inet"
	case IP:
		return "ip"
	case IP6:
		return "ip6"
	}
	return fmt.Sprintf("Family(%d)", int(f))
}

func (f Family) nft() (nftables.TableFamily, bool) {
	switch f {
	case INet:
		return nftables.TableFamilyINet, true
	case IP:
		return nftables.TableFamilyIPv4, true
	case IP6:
		return nftables.TableFamilyIPv6, true
	}
	return 0, false
}

// Table is one nftables table that its owner rebuilds whole with Set. Its
// methods are safe for concurrent use; they are serialised.
type Table struct {
	family Family
	name   string
	netns  int // namespace fd for nftables.WithNetNSFd, or -1

	mu sync.Mutex
}

// Option configures a Table.
type Option func(*Table)

// WithNetNS makes the Table work in the network namespace that fd refers
// to instead of the caller's. The caller keeps fd open while the Table is
// in use.
func WithNetNS(fd int) Option { return func(t *Table) { t.netns = fd } }

// New returns the table family/name. It changes nothing in the kernel.
func New(family Family, name string, opts ...Option) (*Table, error) {
	if _, ok := family.nft(); !ok {
		return nil, fmt.Errorf("invalid table family %v: use INet, IP or IP6", family)
	}
	if !validName.MatchString(name) {
		return nil, fmt.Errorf("invalid table name %q: use up to 31 letters, digits, - or _, starting with a letter", name)
	}
	t := &Table{family: family, name: name, netns: -1}
	for _, o := range opts {
		o(t)
	}
	return t, nil
}

// String is "family name", as nft names the table.
func (t *Table) String() string { return t.family.String() + " " + t.name }

func (t *Table) conn() (*nftables.Conn, error) {
	var opts []nftables.ConnOption
	if t.netns >= 0 {
		opts = append(opts, nftables.WithNetNSFd(t.netns))
	}
	c, err := nftables.New(opts...)
	if err != nil {
		return nil, fmt.Errorf("open nftables netlink: %w", err)
	}
	return c, nil
}

func (t *Table) nftTable() *nftables.Table {
	f, _ := t.family.nft()
	return &nftables.Table{Family: f, Name: t.name}
}

// Set makes the table hold exactly spec, in one transaction (see the
// package doc): before it returns nil, every packet sees either the old
// table or the new one. On error, nothing changed. Set with the same spec
// again changes nothing but resets the rules' counters.
func (t *Table) Set(spec Spec) error {
	if err := spec.Validate(); err != nil {
		return fmt.Errorf("table %s: %w", t, err)
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	c, err := t.conn()
	if err != nil {
		return err
	}
	tbl := t.nftTable()
	// Add (a no-op if it exists), delete, add again: the delete never
	// fails for want of the table, and the batch rebuilds it from nothing.
	c.AddTable(tbl)
	c.DelTable(tbl)
	c.AddTable(tbl)
	sets := map[string]*nftables.Set{}
	for _, st := range spec.Sets {
		s, err := addSet(c, tbl, st)
		if err != nil {
			return fmt.Errorf("table %s: %w", t, err)
		}
		sets[st.Name] = s
	}
	for _, ch := range spec.Chains {
		addChain(c, tbl, ch, sets)
	}
	if err := c.Flush(); err != nil {
		return fmt.Errorf("replace nftables table %s: %w", t, err)
	}
	return nil
}

// Delete removes the table, its chains, rules and sets. A table that is
// not there is success.
func (t *Table) Delete() error {
	t.mu.Lock()
	defer t.mu.Unlock()
	c, err := t.conn()
	if err != nil {
		return err
	}
	tbl := t.nftTable()
	c.AddTable(tbl) // so that the delete cannot fail for want of it
	c.DelTable(tbl)
	if err := c.Flush(); err != nil {
		return fmt.Errorf("delete nftables table %s: %w", t, err)
	}
	return nil
}

// Exists says whether the table is in the kernel.
func (t *Table) Exists() (bool, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	c, err := t.conn()
	if err != nil {
		return false, err
	}
	f, _ := t.family.nft()
	tables, err := c.ListTablesOfFamily(f)
	if err != nil {
		return false, fmt.Errorf("list nftables tables: %w", err)
	}
	for _, tb := range tables {
		if tb.Name == t.name {
			return true, nil
		}
	}
	return false, nil
}

func addSet(c *nftables.Conn, tbl *nftables.Table, st Set) (*nftables.Set, error) {
	s := &nftables.Set{Table: tbl, Name: st.Name, Interval: st.Interval, KeyType: nftables.TypeIPAddr}
	if st.Type == IPv6 {
		s.KeyType = nftables.TypeIP6Addr
	}
	if err := c.AddSet(s, elements(st)); err != nil {
		return nil, fmt.Errorf("set %q: %w", st.Name, err)
	}
	return s, nil
}

// elements encodes a set's addresses: one key per address, or for an
// interval set one start key and one end key (the first address after the
// range, flagged as an end) per range of merged prefixes. A range that
// runs to the last address of the family has no end key.
func elements(st Set) []nftables.SetElement {
	els := st.normalized()
	var out []nftables.SetElement
	if !st.Interval {
		for _, p := range els {
			out = append(out, nftables.SetElement{Key: p.Addr().AsSlice()})
		}
		return out
	}
	for _, r := range ranges(els) {
		out = append(out, nftables.SetElement{Key: r.first.AsSlice()})
		if end := r.last.Next(); end.IsValid() {
			out = append(out, nftables.SetElement{Key: end.AsSlice(), IntervalEnd: true})
		}
	}
	return out
}

// addrRange is the addresses first to last, both included.
type addrRange struct{ first, last netip.Addr }

// ranges turns sorted prefixes that do not overlap into ranges, merging
// adjacent ones.
func ranges(ps []netip.Prefix) []addrRange {
	var out []addrRange
	for _, p := range ps {
		r := addrRange{p.Addr(), lastAddr(p)}
		if n := len(out); n > 0 && out[n-1].last.Next() == r.first {
			out[n-1].last = r.last
			continue
		}
		out = append(out, r)
	}
	return out
}

// String renders the range as nft lists it: a prefix if it is one.
func (r addrRange) String() string {
	if r.first == r.last {
		return r.first.String()
	}
	for bits := r.first.BitLen(); bits >= 0; bits-- {
		if p := netip.PrefixFrom(r.first, bits); p.Masked().Addr() == r.first && lastAddr(p) == r.last {
			return p.String()
		}
	}
	return r.first.String() + "-" + r.last.String()
}

// lastAddr returns the last address of the prefix.
func lastAddr(p netip.Prefix) netip.Addr {
	b := p.Addr().AsSlice()
	for i := p.Bits(); i < len(b)*8; i++ {
		b[i/8] |= 0x80 >> (i % 8)
	}
	a, _ := netip.AddrFromSlice(b)
	return a
}

var hooks = map[Hook]*nftables.ChainHook{
	Prerouting:  nftables.ChainHookPrerouting,
	Input:       nftables.ChainHookInput,
	Forward:     nftables.ChainHookForward,
	Output:      nftables.ChainHookOutput,
	Postrouting: nftables.ChainHookPostrouting,
}

func addChain(c *nftables.Conn, tbl *nftables.Table, ch Chain, sets map[string]*nftables.Set) {
	accept := nftables.ChainPolicyAccept
	nc := c.AddChain(&nftables.Chain{
		Name:     ch.Name,
		Table:    tbl,
		Type:     nftables.ChainTypeFilter,
		Hooknum:  hooks[ch.Hook],
		Priority: nftables.ChainPriorityRef(nftables.ChainPriority(ch.Priority)),
		Policy:   &accept,
	})
	for _, r := range ch.Rules {
		var exprs []expr.Any
		for _, m := range r.Match {
			exprs = append(exprs, m.build(sets)...)
		}
		if r.Counter {
			exprs = append(exprs, &expr.Counter{})
		}
		switch r.Verdict {
		case Notrack:
			exprs = append(exprs, &expr.Notrack{})
		case Drop:
			exprs = append(exprs, &expr.Verdict{Kind: expr.VerdictDrop})
		default:
			exprs = append(exprs, &expr.Verdict{Kind: expr.VerdictAccept})
		}
		var ud []byte
		if r.Comment != "" {
			ud = userdata.AppendString(nil, userdata.TypeComment, r.Comment)
		}
		c.AddRule(&nftables.Rule{Table: tbl, Chain: nc, Exprs: exprs, UserData: ud})
	}
}
