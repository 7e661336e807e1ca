package edgectl

import (
	"cmp"
	"fmt"
	"maps"
	"net/netip"
	"slices"

	"switchboard/internal/edge"
	"switchboard/internal/edge/tunnel"
	"switchboard/internal/idco"
	"switchboard/internal/netdev/devname"
)

// Local is what the merge needs to know about this edge.
type Local struct {
	Node      string     // this gateway node's name
	WAN       netip.Addr // the edge's WAN address
	WANDevice string     // the interface holding WAN
	WANPort   uint16     // UDP port of the tunnels; 0 is the tunnel's default
	PublicKey string     // the edge's WireGuard public key; empty when it runs plain VXLAN
}

// wantAttachment is one edge Attachment the merged config needs.
type wantAttachment struct {
	Namespace, Network string // the local Network
	Cable              string // the cable's name, sbn<local VNI>
}

// mergeProblem is a network of one provider that the merge left out, and why.
type mergeProblem struct {
	Provider string
	Network  string
	VNI      uint32
	Err      error
}

func (p mergeProblem) Error() string {
	return fmt.Sprintf("provider %q, network %q (vni %d): %v", p.Provider, p.Network, p.VNI, p.Err)
}

// merge turns the providers' edge configs (by provider name) into one
// edge.Config and the edge Attachments it needs. It is pure and
// deterministic: providers are taken in name order, networks in VNI order.
// A network is left out, and reported, when it is another node's (its
// registration names another edge node), when its VNI or its cable is
// already taken by a network merged before it (two IDCOs each number their
// own networks), or when it names no local VNI. A peer whose endpoint is
// not an IP address and port of the WAN address's family is left out and
// reported, the link stays; one whose port is not this edge's is kept and
// reported (the tunnel has one port for all).
func merge(local Local, cfgs map[string]idco.EdgeConfig) (edge.Config, []wantAttachment, []mergeProblem) {
	out := edge.Config{WANLocal: local.WAN, WANDevice: local.WANDevice, WANPort: local.WANPort}
	var atts []wantAttachment
	var problems []mergeProblem
	ids, cables := map[uint32]string{}, map[string]string{}
	wanPort := cmp.Or(local.WANPort, tunnel.DefaultPort)
	for _, prov := range slices.Sorted(maps.Keys(cfgs)) {
		nets := slices.Clone(cfgs[prov].Networks)
		slices.SortFunc(nets, func(a, b idco.EdgeNetwork) int {
			return cmp.Or(cmp.Compare(a.VNI, b.VNI), cmp.Compare(a.Network, b.Network))
		})
		for _, n := range nets {
			bad := func(format string, args ...any) {
				problems = append(problems, mergeProblem{Provider: prov, Network: n.Network, VNI: n.VNI, Err: fmt.Errorf(format, args...)})
			}
			cable := devname.EdgeCable(n.LocalVNI)
			switch {
			case n.Edge.Node != "" && n.Edge.Node != local.Node:
				bad("registered for edge node %q, this is %q: fix the operator's --edge-node or run the edge there", n.Edge.Node, local.Node)
				continue
			case n.LocalVNI == 0 || n.Name == "" || n.Namespace == "":
				bad("no local network (namespace %q, name %q, local VNI %d): the operator registered it incompletely", n.Namespace, n.Name, n.LocalVNI)
				continue
			case ids[n.VNI] != "":
				bad("inter-cluster VNI %d is already carried for provider %q: give the providers disjoint VNI ranges", n.VNI, ids[n.VNI])
				continue
			case cables[cable] != "":
				bad("local network %s/%s (cable %s) is already linked for %s: a network has one provider", n.Namespace, n.Name, cable, cables[cable])
				continue
			}
			ids[n.VNI] = prov
			cables[cable] = fmt.Sprintf("provider %q network %q", prov, n.Network)
			l := edge.Link{ID: n.VNI, Cable: cable}
			for _, p := range n.Peers {
				ap, err := netip.ParseAddrPort(p.Endpoint)
				if err != nil {
					bad("peer %q has endpoint %q, not an IP address and port: %v", p.Cluster, p.Endpoint, err)
					continue
				}
				if ap.Addr().Unmap().Is4() != local.WAN.Unmap().Is4() {
					bad("peer %q has endpoint %s, not of the WAN address's family (%s): the tunnel cannot reach it", p.Cluster, ap.Addr(), local.WAN)
					continue
				}
				if ap.Port() != wanPort {
					// Kept: the address is right, and the port is a
					// setting of the whole edge, fixed on one side or the other.
					bad("peer %q listens on UDP port %d, this edge sends to %d: run every edge with the same --wan-port", p.Cluster, ap.Port(), wanPort)
				}
				l.Peers = append(l.Peers, edge.Peer{Cluster: p.Cluster, Endpoint: ap.Addr().Unmap(), PublicKey: p.PublicKey})
			}
			slices.SortFunc(l.Peers, func(a, b edge.Peer) int {
				return cmp.Or(cmp.Compare(a.Cluster, b.Cluster), a.Endpoint.Compare(b.Endpoint))
			})
			out.Links = append(out.Links, l)
			atts = append(atts, wantAttachment{Namespace: n.Namespace, Network: n.Name, Cable: cable})
		}
	}
	slices.SortFunc(out.Links, func(a, b edge.Link) int { return cmp.Compare(a.ID, b.ID) })
	slices.SortFunc(atts, func(a, b wantAttachment) int {
		return cmp.Or(cmp.Compare(a.Namespace, b.Namespace), cmp.Compare(a.Network, b.Network))
	})
	return out, atts, problems
}
