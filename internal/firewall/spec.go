package firewall

import (
	"errors"
	"fmt"
	"net/netip"
	"regexp"
	"slices"
	"strings"
)

// Spec is the whole content of a table: what Table.Set makes it hold.
type Spec struct {
	Sets   []Set
	Chains []Chain
}

// AddrType is the element type of an address Set.
type AddrType int

// The address types of a Set.
const (
	IPv4 AddrType = iota + 1 // ipv4_addr, matched with "ip saddr"
	IPv6                     // ipv6_addr, matched with "ip6 saddr"
)

func (t AddrType) String() string {
	switch t {
	case IPv4:
		return "ipv4_addr"
	case IPv6:
		return "ipv6_addr"
	}
	return fmt.Sprintf("AddrType(%d)", int(t))
}

// keyword is the nft protocol keyword of addresses of this type.
func (t AddrType) keyword() string {
	if t == IPv6 {
		return "ip6"
	}
	return "ip"
}

// Set is a named set of addresses. Without Interval its elements are
// single addresses (full-length prefixes); with Interval they may be any
// prefixes, and overlapping ones are merged.
type Set struct {
	Name     string
	Type     AddrType
	Interval bool
	Elements []netip.Prefix
}

// Hook is the netfilter hook of a base chain.
type Hook int

// The hooks a Chain can be attached to.
const (
	Prerouting Hook = iota + 1
	Input
	Forward
	Output
	Postrouting
)

func (h Hook) String() string {
	switch h {
	case Prerouting:
		return "prerouting"
	case Input:
		return "input"
	case Forward:
		return "forward"
	case Output:
		return "output"
	case Postrouting:
		return "postrouting"
	}
	return fmt.Sprintf("Hook(%d)", int(h))
}

// Well-known chain priorities (nft's names for them).
const (
	PriorityRaw      = -300
	PriorityMangle   = -150
	PriorityDstNAT   = -100
	PriorityFilter   = 0
	PrioritySecurity = 50
	PrioritySrcNAT   = 100
)

// Chain is a base chain of type filter with policy accept: packets that
// match none of its rules go on to the next chain of the hook.
type Chain struct {
	Name     string
	Hook     Hook
	Priority int
	Rules    []Rule
}

// Verdict is what a Rule does with a matching packet.
type Verdict int

// The verdicts of a Rule.
const (
	Accept Verdict = iota + 1
	Drop
	// Notrack exempts the packet from connection tracking and lets it go
	// on to the next rule (nft's notrack statement); only in chains of
	// priority PriorityRaw on the prerouting and output hooks, where the
	// kernel has not tracked it yet.
	Notrack
)

func (v Verdict) String() string {
	switch v {
	case Accept:
		return "accept"
	case Drop:
		return "drop"
	case Notrack:
		return "notrack"
	}
	return fmt.Sprintf("Verdict(%d)", int(v))
}

// Rule is one rule of a chain: when every Match holds, the packet is
// counted (if Counter) and gets the Verdict. Comment is shown by
// `nft list table`, to say why the rule is there.
type Rule struct {
	Match   []Match
	Counter bool
	Verdict Verdict
	Comment string
}

// name is what the kernel accepts as a table, chain or set name here: a
// short identifier, so that nft's listing can be pasted back.
var validName = regexp.MustCompile(`^[a-zA-Z][a-zA-Z0-9_-]{0,30}$`)

// maxComment is nft's limit on a rule's comment.
const maxComment = 128

// Validate checks the spec on its own: names, types, hooks, verdicts, and
// that every set a rule names exists. Table.Set calls it first.
func (s Spec) Validate() error {
	sets := map[string]AddrType{}
	for i, st := range s.Sets {
		if !validName.MatchString(st.Name) {
			return fmt.Errorf("set %d: invalid name %q: use up to 31 letters, digits, - or _, starting with a letter", i, st.Name)
		}
		if _, dup := sets[st.Name]; dup {
			return fmt.Errorf("set %q: defined twice", st.Name)
		}
		sets[st.Name] = st.Type
		if st.Type != IPv4 && st.Type != IPv6 {
			return fmt.Errorf("set %q: invalid type %v: use IPv4 or IPv6", st.Name, st.Type)
		}
		for _, p := range st.Elements {
			if err := st.checkElement(p); err != nil {
				return err
			}
		}
	}
	chains := map[string]bool{}
	for i, c := range s.Chains {
		if !validName.MatchString(c.Name) {
			return fmt.Errorf("chain %d: invalid name %q: use up to 31 letters, digits, - or _, starting with a letter", i, c.Name)
		}
		if chains[c.Name] {
			return fmt.Errorf("chain %q: defined twice", c.Name)
		}
		chains[c.Name] = true
		if c.Hook < Prerouting || c.Hook > Postrouting {
			return fmt.Errorf("chain %q: invalid hook %v", c.Name, c.Hook)
		}
		for j, r := range c.Rules {
			if r.Verdict != Accept && r.Verdict != Drop && r.Verdict != Notrack {
				return fmt.Errorf("chain %q rule %d: invalid verdict %v: use Accept, Drop or Notrack", c.Name, j, r.Verdict)
			}
			if r.Verdict == Notrack && (c.Priority != PriorityRaw || (c.Hook != Prerouting && c.Hook != Output)) {
				return fmt.Errorf("chain %q rule %d: notrack acts only before connection tracking: use a prerouting or output chain of priority raw", c.Name, j)
			}
			if len(r.Comment) > maxComment {
				return fmt.Errorf("chain %q rule %d: comment of %d bytes: keep it under %d", c.Name, j, len(r.Comment), maxComment)
			}
			if len(r.Match) == 0 {
				return fmt.Errorf("chain %q rule %d: no match: a rule must match something (a chain's policy is accept)", c.Name, j)
			}
			for _, m := range r.Match {
				if err := m.check(sets); err != nil {
					return fmt.Errorf("chain %q rule %d: %w", c.Name, j, err)
				}
			}
		}
	}
	return nil
}

// check reports what is wrong with a match of a rule in a spec whose sets
// have the given types.
func (m Match) check(sets map[string]AddrType) error {
	if m.err != nil {
		return m.err
	}
	if m.build == nil {
		return errors.New("empty match: make matches with the package's constructors")
	}
	if m.set == "" {
		return nil
	}
	t, ok := sets[m.set]
	if !ok {
		return fmt.Errorf("%s: the spec has no set %q", m.text, m.set)
	}
	if t != m.typ {
		return fmt.Errorf("%s: set %q holds %v, not %v", m.text, m.set, t, m.typ)
	}
	return nil
}

func (st Set) checkElement(p netip.Prefix) error {
	switch {
	case !p.IsValid():
		return fmt.Errorf("set %q: invalid element %v", st.Name, p)
	case p.Addr().Is4() != (st.Type == IPv4) || p.Addr().Is4In6():
		return fmt.Errorf("set %q: element %v is not of type %v", st.Name, p, st.Type)
	case !st.Interval && p.Bits() != p.Addr().BitLen():
		return fmt.Errorf("set %q: element %v is a prefix: give single addresses, or make the set an Interval set", st.Name, p)
	}
	return nil
}

// String renders the spec's sets and chains the way `nft list table`
// shows a table's body (without handles and counters' values), in a stable
// order: sets' elements sorted and merged, everything else as given.
func (s Spec) String() string {
	var b strings.Builder
	for _, st := range s.Sets {
		fmt.Fprintf(&b, "\tset %s {\n\t\ttype %v\n", st.Name, st.Type)
		if st.Interval {
			b.WriteString("\t\tflags interval\n")
		}
		if els := st.elementStrings(); len(els) > 0 {
			fmt.Fprintf(&b, "\t\telements = { %s }\n", strings.Join(els, ", "))
		}
		b.WriteString("\t}\n")
	}
	for _, c := range s.Chains {
		fmt.Fprintf(&b, "\tchain %s {\n\t\ttype filter hook %v priority %s; policy accept;\n", c.Name, c.Hook, priorityString(c.Priority))
		for _, r := range c.Rules {
			b.WriteString("\t\t" + r.String() + "\n")
		}
		b.WriteString("\t}\n")
	}
	return b.String()
}

// String renders the rule in nft syntax.
func (r Rule) String() string {
	parts := make([]string, 0, len(r.Match)+3)
	for _, m := range r.Match {
		parts = append(parts, m.text)
	}
	if r.Counter {
		parts = append(parts, "counter")
	}
	parts = append(parts, r.Verdict.String())
	if r.Comment != "" {
		parts = append(parts, fmt.Sprintf("comment %q", r.Comment))
	}
	return strings.Join(parts, " ")
}

// normalized returns the set's elements sorted and, for an interval set,
// with overlapping prefixes merged into the larger one; for a plain set,
// without duplicates.
func (st Set) normalized() []netip.Prefix {
	els := make([]netip.Prefix, 0, len(st.Elements))
	for _, p := range st.Elements {
		els = append(els, p.Masked())
	}
	slices.SortFunc(els, func(a, b netip.Prefix) int {
		if c := a.Addr().Compare(b.Addr()); c != 0 {
			return c
		}
		return a.Bits() - b.Bits() // the larger prefix first
	})
	out := els[:0]
	for _, p := range els {
		if n := len(out); n > 0 && out[n-1].Overlaps(p) {
			continue // sorted: the earlier one contains p
		}
		out = append(out, p)
	}
	return out
}

// elementStrings renders the elements as nft lists them: addresses, and
// in an interval set the merged ranges, as prefixes where they are one.
func (st Set) elementStrings() []string {
	var out []string
	if !st.Interval {
		for _, p := range st.normalized() {
			out = append(out, p.Addr().String())
		}
		return out
	}
	for _, r := range ranges(st.normalized()) {
		out = append(out, r.String())
	}
	return out
}

var priorityNames = map[int]string{
	PriorityRaw: "raw", PriorityMangle: "mangle", PriorityDstNAT: "dstnat",
	PriorityFilter: "filter", PrioritySecurity: "security", PrioritySrcNAT: "srcnat",
}

// priorityString writes a priority the way nft lists it: a name, or a
// name plus or minus an offset when it is near one.
func priorityString(p int) string {
	if n, ok := priorityNames[p]; ok {
		return n
	}
	for _, base := range []int{PriorityFilter, PriorityDstNAT, PrioritySrcNAT, PriorityMangle, PriorityRaw, PrioritySecurity} {
		switch d := p - base; {
		case d > 0 && d <= 10:
			return fmt.Sprintf("%s + %d", priorityNames[base], d)
		case d < 0 && d >= -10:
			return fmt.Sprintf("%s - %d", priorityNames[base], -d)
		}
	}
	return fmt.Sprint(p)
}
