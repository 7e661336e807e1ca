package dataplane

import (
	"cmp"
	"fmt"
	"maps"
	"net/netip"
	"slices"
)

// This file holds the pure part of Set: what a network's entries should be
// and which operations take the kernel from what it has to that. The
// operations print like the iproute2 commands that would do the same, so
// tests compare them as text.

// fdbEntry is an entry of a VXLAN device's own FDB: frames for MAC go to the
// VTEP Dst. An all-zeros MAC is a head-end replication target for BUM.
type fdbEntry struct {
	MAC mac
	Dst netip.Addr
}

// netPlan is the desired state of one network on this node.
type netPlan struct {
	vni   uint32
	mtu   int
	cable bool               // the network has an edge cable
	flood bool               // the VXLAN device's ARP/ND proxy is off
	self  []fdbEntry         // VXLAN FDB, sorted: remote MACs and one all-zeros entry per remote node
	local []mac              // static bridge FDB entries towards the VXLAN port, sorted
	neigh map[netip.Addr]mac // neighbour entries on the VXLAN device
}

// planNetwork validates a network and computes its desired state.
func planNetwork(vni uint32, n Network, underlayMTU int, local netip.Addr) (netPlan, error) {
	p := netPlan{vni: vni, cable: n.EdgeCable, flood: n.Flood, neigh: map[netip.Addr]mac{}}
	mtu, err := deriveMTU(n.MTU, underlayMTU, local)
	if err != nil {
		return p, err
	}
	p.mtu = mtu
	macDst := map[mac]netip.Addr{}
	nodes := map[netip.Addr]bool{}
	for _, r := range n.Remotes {
		node := r.NodeIP.Unmap()
		if !unicastIP(node) || node.Is4() != local.Unmap().Is4() {
			return p, invalidf("remote node IP %q is not a unicast address of the local IP's family", r.NodeIP)
		}
		if node == local.Unmap() {
			return p, invalidf("remote node IP %q is the local IP", r.NodeIP)
		}
		if len(r.MAC) == 0 { // flood-only
			if len(r.IPs) > 0 {
				return p, invalidf("flood-only remote on node %q has IPs %v: give its MAC, or no IPs", node, r.IPs)
			}
			nodes[node] = true
			continue
		}
		m, err := unicastMAC(r.MAC)
		if err != nil {
			return p, fmt.Errorf("remote on node %q: %w", node, err)
		}
		if prev, dup := macDst[m]; dup && prev != node {
			return p, invalidf("MAC %q is on both node %q and node %q", m, prev, node)
		}
		macDst[m] = node
		nodes[node] = true
		for _, ip := range r.IPs {
			ip = ip.Unmap()
			if !unicastIP(ip) {
				return p, invalidf("remote IP %q of MAC %q is not a unicast address", ip, m)
			}
			if prev, dup := p.neigh[ip]; dup && prev != m {
				return p, invalidf("IP %q belongs to both MAC %q and MAC %q", ip, prev, m)
			}
			p.neigh[ip] = m
		}
	}
	for m, node := range macDst {
		p.self = append(p.self, fdbEntry{MAC: m, Dst: node})
		p.local = append(p.local, m)
	}
	for node := range nodes {
		p.self = append(p.self, fdbEntry{Dst: node})
	}
	slices.SortFunc(p.self, compareFDB)
	slices.SortFunc(p.local, compareMAC)
	return p, nil
}

func compareMAC(a, b mac) int { return slices.Compare(a[:], b[:]) }

func compareFDB(a, b fdbEntry) int {
	return cmp.Or(compareMAC(a.MAC, b.MAC), a.Dst.Compare(b.Dst))
}

// fdbOp is one change to a VXLAN device's FDB (self) or to its bridge's FDB
// for the VXLAN port (master).
type fdbOp struct {
	Op     string // "replace", "append" or "del"
	Master bool   // the bridge's FDB rather than the VXLAN device's own
	Entry  fdbEntry
}

func (o fdbOp) String() string {
	if o.Master {
		s := fmt.Sprintf("%s %s master", o.Op, o.Entry.MAC)
		if o.Op != "del" {
			s += " static"
		}
		return s
	}
	s := fmt.Sprintf("%s %s dst %s self", o.Op, o.Entry.MAC, o.Entry.Dst)
	if o.Op != "del" {
		s += " permanent"
	}
	return s
}

// curFDB is what the kernel holds for a VXLAN port.
type curFDB struct {
	self   []fdbEntry   // the VXLAN device's own entries
	master map[mac]bool // the bridge's non-local entries for the port; true if static
}

// diffFDB returns the operations that turn cur into p's entries: first
// additions, so that no frame is ever without a path that it has now, then
// deletions. A unicast MAC has one destination, changed in place (replace);
// all-zeros entries are appended, one per node.
func diffFDB(cur curFDB, p netPlan) []fdbOp {
	var adds, dels []fdbOp
	have := map[fdbEntry]bool{}
	dsts := map[mac]int{}
	for _, e := range cur.self {
		have[e] = true
		dsts[e.MAC]++
	}
	want := map[fdbEntry]bool{}
	replaced := map[mac]bool{}
	for _, e := range p.self {
		want[e] = true
		switch {
		case have[e]:
		case e.MAC.isZero():
			adds = append(adds, fdbOp{Op: "append", Entry: e})
		default:
			adds = append(adds, fdbOp{Op: "replace", Entry: e})
			replaced[e.MAC] = true
		}
	}
	for _, e := range cur.self {
		// A replace rewrote the MAC's only destination: nothing left to delete.
		if want[e] || (replaced[e.MAC] && dsts[e.MAC] == 1) {
			continue
		}
		dels = append(dels, fdbOp{Op: "del", Entry: e})
	}
	wantLocal := map[mac]bool{}
	for _, m := range p.local {
		wantLocal[m] = true
		if !cur.master[m] {
			adds = append(adds, fdbOp{Op: "replace", Master: true, Entry: fdbEntry{MAC: m}})
		}
	}
	for m := range cur.master {
		if !wantLocal[m] {
			dels = append(dels, fdbOp{Op: "del", Master: true, Entry: fdbEntry{MAC: m}})
		}
	}
	sortOps(dels)
	return append(adds, dels...)
}

func sortOps(ops []fdbOp) {
	slices.SortFunc(ops, func(a, b fdbOp) int {
		if a.Master != b.Master {
			if a.Master {
				return 1
			}
			return -1
		}
		return compareFDB(a.Entry, b.Entry)
	})
}

// neighEntry is a neighbour entry as the kernel holds it.
type neighEntry struct {
	MAC       mac
	Permanent bool
}

// neighOp is one change to the VXLAN device's neighbour table.
type neighOp struct {
	Op  string // "replace" or "del"
	IP  netip.Addr
	MAC mac
}

func (o neighOp) String() string {
	if o.Op == "del" {
		return fmt.Sprintf("del %s", o.IP)
	}
	return fmt.Sprintf("%s %s lladdr %s nud permanent", o.Op, o.IP, o.MAC)
}

// diffNeigh returns the operations that turn cur into want: replacements of
// missing, different or non-permanent entries, then deletions.
func diffNeigh(cur map[netip.Addr]neighEntry, want map[netip.Addr]mac) []neighOp {
	var ops []neighOp
	for _, ip := range slices.SortedFunc(maps.Keys(want), netip.Addr.Compare) {
		m := want[ip]
		if c, ok := cur[ip]; ok && c.MAC == m && c.Permanent {
			continue
		}
		ops = append(ops, neighOp{Op: "replace", IP: ip, MAC: m})
	}
	for _, ip := range slices.SortedFunc(maps.Keys(cur), netip.Addr.Compare) {
		if _, ok := want[ip]; !ok {
			ops = append(ops, neighOp{Op: "del", IP: ip})
		}
	}
	return ops
}
