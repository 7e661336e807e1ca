package agent

import (
	"net"
	"net/netip"
	"sort"

	sbv1 "switchboard/api/v1alpha1"
	"switchboard/internal/dataplane"
	"switchboard/internal/netdev"
)

// desired computes the node's data plane from the API alone: a network for
// every Network that has an attachment on this node, with every attachment
// of that network on another node as a remote. It is a pure function of its
// inputs, so an agent that restarts computes the same answer.
//
// Edge attachments (role Edge, made by switchboard-edge on the gateway
// node) count as members: a local one gives the network its edge cable,
// on this node even when no pod is here; one on another node makes that
// node a flood-only remote, as the cable has no MAC of its own. Networks of
// type ext-vnet are flooded (dataplane.Network.Flood): their members in
// other clusters are known to no agent, so ARP and ND for them must reach
// the gateway instead of being answered (or dropped) by the VXLAN proxy.
func desired(node string, base dataplane.Config, networks []sbv1.Network, attachments []sbv1.Attachment) dataplane.Config {
	type key struct{ ns, name string }
	vnis := map[key]sbv1.Network{}
	for _, n := range networks {
		// A network being deleted keeps working until its last pod leaves.
		if n.Status.VNI > 0 {
			vnis[key{n.Namespace, n.Name}] = n
		}
	}
	local, edge := map[key]bool{}, map[key]bool{}
	for _, a := range attachments {
		if a.Spec.Node == node {
			k := key{a.Namespace, a.Spec.Network}
			local[k] = true
			edge[k] = edge[k] || a.Spec.IsEdge()
		}
	}
	cfg := dataplane.Config{Underlay: base.Underlay, LocalIP: base.LocalIP, Networks: map[uint32]dataplane.Network{}}
	for k := range local {
		n, ok := vnis[k]
		if !ok {
			continue
		}
		cfg.Networks[uint32(n.Status.VNI)] = dataplane.Network{
			MTU:         int(n.Spec.MTU),
			WANOverhead: wanOverhead(&n),
			EdgeCable:   edge[k],
			Flood:       n.Spec.Type == sbv1.ExtVNet,
		}
	}
	// Sorted for a stable order, so that identical inputs give identical configs.
	sorted := append([]sbv1.Attachment(nil), attachments...)
	sort.Slice(sorted, func(i, j int) bool {
		if sorted[i].Namespace != sorted[j].Namespace {
			return sorted[i].Namespace < sorted[j].Namespace
		}
		return sorted[i].Name < sorted[j].Name
	})
	for _, a := range sorted {
		k := key{a.Namespace, a.Spec.Network}
		if a.Spec.Node == node || !local[k] {
			continue
		}
		n, ok := vnis[k]
		if !ok {
			continue
		}
		r, ok := remote(a)
		if !ok {
			continue
		}
		dn := cfg.Networks[uint32(n.Status.VNI)]
		dn.Remotes = append(dn.Remotes, r)
		cfg.Networks[uint32(n.Status.VNI)] = dn
	}
	return cfg
}

// remote converts an attachment on another node; ones without a usable
// node address, and pod interfaces without a usable MAC, are skipped (they
// cannot be forwarded to yet). An edge attachment is a flood-only remote:
// its node, without MAC or addresses.
func remote(a sbv1.Attachment) (dataplane.Remote, bool) {
	nodeIP, err := netip.ParseAddr(a.Spec.NodeIP)
	if err != nil {
		return dataplane.Remote{}, false
	}
	if a.Spec.IsEdge() {
		return dataplane.Remote{NodeIP: nodeIP}, true
	}
	mac, err := net.ParseMAC(a.Spec.MAC)
	if err != nil {
		return dataplane.Remote{}, false
	}
	r := dataplane.Remote{NodeIP: nodeIP, MAC: mac}
	for _, s := range a.Spec.IPs {
		if p, err := netip.ParsePrefix(s); err == nil {
			r.IPs = append(r.IPs, p.Addr())
		}
	}
	return r, true
}

// wanOverhead is what network n's frames carry beyond the cluster: an
// inter-cluster network's cross the WAN inside the edge's tunnel.
func wanOverhead(n *sbv1.Network) int {
	if n.Spec.Type == sbv1.ExtVNet {
		return netdev.InterClusterOverhead
	}
	return 0
}
