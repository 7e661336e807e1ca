package tunnel

import (
	"cmp"
	"fmt"
	"net"
	"net/netip"
	"slices"
)

// mac is an Ethernet address usable as a map key.
type mac [6]byte

func (m mac) String() string  { return net.HardwareAddr(m[:]).String() }
func (m mac) isZero() bool    { return m == mac{} }
func (m mac) isUnicast() bool { return m[0]&1 == 0 && !m.isZero() }

func macOf(hw net.HardwareAddr) (mac, bool) {
	var m mac
	if len(hw) != len(m) {
		return m, false
	}
	copy(m[:], hw)
	return m, true
}

// fdbEntry is an entry of a VXLAN device's own FDB: frames for MAC go to
// the remote edge Dst. An all-zeros MAC is a head-end replication target:
// broadcast, multicast and unknown unicast go to every such Dst.
type fdbEntry struct {
	MAC mac
	Dst netip.Addr
}

func (e fdbEntry) String() string { return fmt.Sprintf("%s dst %s", e.MAC, e.Dst) }

func compareFDB(a, b fdbEntry) int {
	return cmp.Or(slices.Compare(a.MAC[:], b.MAC[:]), a.Dst.Compare(b.Dst))
}

// wantFDB returns the entries for remotes, sorted: one all-zeros entry per
// endpoint and one per member MAC. It fails on an endpoint that is not a
// unicast address of local's family or is local itself, on a MAC that is
// not unicast, and on a MAC behind two endpoints.
func wantFDB(remotes []Remote, local netip.Addr) ([]fdbEntry, error) {
	seen := map[fdbEntry]bool{}
	where := map[mac]netip.Addr{}
	var out []fdbEntry
	add := func(e fdbEntry) {
		if !seen[e] {
			seen[e] = true
			out = append(out, e)
		}
	}
	for _, r := range remotes {
		ep := r.Endpoint.Unmap()
		if !ep.IsValid() || ep.IsUnspecified() || ep.IsMulticast() || ep.Zone() != "" || ep.Is4() != local.Unmap().Is4() {
			return nil, fmt.Errorf("endpoint %q is not a unicast address of the WAN address's family", r.Endpoint)
		}
		if ep == local.Unmap() {
			return nil, fmt.Errorf("endpoint %q is the local WAN address", r.Endpoint)
		}
		add(fdbEntry{Dst: ep})
		for _, hw := range r.MACs {
			m, ok := macOf(hw)
			if !ok || !m.isUnicast() {
				return nil, fmt.Errorf("MAC %q behind %s is not a unicast Ethernet address", hw, ep)
			}
			if prev, dup := where[m]; dup && prev != ep {
				return nil, fmt.Errorf("MAC %s is behind both %s and %s", m, prev, ep)
			}
			where[m] = ep
			add(fdbEntry{MAC: m, Dst: ep})
		}
	}
	slices.SortFunc(out, compareFDB)
	return out, nil
}

// fdbOp is one change to a VXLAN device's own FDB.
type fdbOp struct {
	Op    string // "append" (all-zeros), "replace" (unicast) or "del"
	Entry fdbEntry
}

func (o fdbOp) String() string { return o.Op + " " + o.Entry.String() }

// diffFDB returns the operations that turn have into want: additions first,
// so that no frame loses a path it has now, then deletions. A unicast MAC
// gets its destination by "replace", which rewrites its first one in place;
// the deletion of the old entry that follows then finds nothing, which the
// caller takes as success. All-zeros entries are appended, one per
// endpoint.
func diffFDB(have, want []fdbEntry) []fdbOp {
	var adds, dels []fdbOp
	has, wants := map[fdbEntry]bool{}, map[fdbEntry]bool{}
	for _, e := range have {
		has[e] = true
	}
	for _, e := range want {
		wants[e] = true
		switch {
		case has[e]:
		case e.MAC.isZero():
			adds = append(adds, fdbOp{"append", e})
		default:
			adds = append(adds, fdbOp{"replace", e})
		}
	}
	for _, e := range have {
		if !wants[e] {
			dels = append(dels, fdbOp{"del", e})
		}
	}
	slices.SortFunc(dels, func(a, b fdbOp) int { return compareFDB(a.Entry, b.Entry) })
	return append(adds, dels...)
}
