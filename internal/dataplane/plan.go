package dataplane

import (
	"fmt"
	"net/netip"
	"slices"

	"switchboard/internal/netdev"
)

// This file holds the pure part of Set: what a network's devices and
// entries should be. Package netdev turns the kernel's entries into these.

// netPlan is the desired state of one network on this node.
type netPlan struct {
	vni   uint32
	mtu   int
	cable bool                      // the network has an edge cable
	flood bool                      // the VXLAN device's ARP/ND proxy is off
	self  []netdev.FDBEntry         // VXLAN FDB, sorted: remote MACs and one all-zeros entry per remote node
	local []netdev.MAC              // static bridge FDB entries towards the VXLAN port, sorted
	neigh map[netip.Addr]netdev.MAC // neighbour entries on the VXLAN device
}

// fdb is the plan's forwarding state of the VXLAN port.
func (p netPlan) fdb() netdev.FDB { return netdev.FDB{Self: p.self, Static: p.local} }

// planNetwork validates a network and computes its desired state.
func planNetwork(vni uint32, n Network, underlayMTU int, local netip.Addr) (netPlan, error) {
	p := netPlan{vni: vni, cable: n.EdgeCable, flood: n.Flood, neigh: map[netip.Addr]netdev.MAC{}}
	mtu, err := deriveMTU(n.MTU, underlayMTU, local, n.WANOverhead)
	if err != nil {
		return p, err
	}
	p.mtu = mtu
	macDst := map[netdev.MAC]netip.Addr{}
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
		p.self = append(p.self, netdev.FDBEntry{MAC: m, Dst: node})
		p.local = append(p.local, m)
	}
	for node := range nodes {
		p.self = append(p.self, netdev.FDBEntry{Dst: node})
	}
	slices.SortFunc(p.self, netdev.CompareFDB)
	slices.SortFunc(p.local, netdev.MAC.Compare)
	return p, nil
}
