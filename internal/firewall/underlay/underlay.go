// Package underlay is underlay admission: the nftables rules with which
// the node agent lets VXLAN into a node only from the cluster's nodes, and
// never from a pod, in the table "inet switchboard" that the agent owns on
// every node (see package firewall for how the table is replaced).
//
// # The threat
//
// A node's VXLAN devices listen on UDP port 4789 on every address of the
// node and deliver the frame inside a datagram into the network whose VNI
// it names, whoever sent it. Without these rules, any pod, even one with
// no extra network, could send such a datagram to a node (through its
// primary interface) and put frames into any network of the cluster.
//
// # The rules
//
//	set nodes4, nodes6: the cluster's node addresses (Node InternalIPs)
//	set pods4, pods6:   the cluster's pod CIDRs (Node spec.podCIDRs)
//
//	prerouting (dstnat - 10, before any DNAT):
//	  udp dport 4789 from a pod-side interface or a pod address: drop
//	forward (filter - 10, before any masquerade, which is in postrouting):
//	  the same, for datagrams a node would route on
//	postrouting (srcnat + 10, after masquerade):
//	  udp dport 4789 whose source this node rewrote (ct status snat): drop
//	notrack-in (prerouting, raw), notrack-out (output, raw):
//	  udp dport 4789 from a node address, not from a pod-side interface,
//	  and this node's own: not tracked (no conntrack entry per packet);
//	  frames bridged by Switchboard's own bridges (sbbr…, sbwb…), which
//	  br_netfilter hands to these hooks: not tracked either
//	input (filter - 10):
//	  udp dport 4789 from a pod-side interface: drop (even with a node's
//	  address as source, which a pod can forge)
//	  udp dport 4789 from a node address: accept
//	  any other udp dport 4789: drop
//
// The node's own VXLAN traffic is sent from its InternalIP by the kernel's
// VXLAN devices (output, never forward, never source-NATed), and arrives
// at other nodes from that address on the underlay interface: no rule
// touches it. Pod-side interfaces are Switchboard's own devices (pod ports
// sbv…, bridges sbbr…, edge cables sbe… and sbn…, the edge's bridges and
// tunnel ports sbw…) and the primary network's, which the agent is told
// (Config.PodInterfaces).
//
// Since the kernel may pass bridged traffic through these hooks as well
// (br_netfilter), UDP to port 4789 between two pods is dropped too: a
// workload cannot use UDP port 4789 itself, exactly as with Calico's rule
// against "VXLAN encapsulated packets originating in workloads".
package underlay

import (
	"fmt"
	"net/netip"
	"slices"

	"switchboard/internal/firewall"
	"switchboard/internal/netdev/devname"
)

// Table is the nftables table of underlay admission: family inet, name
// "switchboard".
const (
	Family    = firewall.INet
	TableName = "switchboard"
)

// Names of the sets, as `nft list table inet switchboard` shows them.
const (
	Nodes4 = "nodes4"
	Nodes6 = "nodes6"
	Pods4  = "pods4"
	Pods6  = "pods6"
)

// Chain priorities: prerouting before DNAT, forward and input before the
// usual filter chains, postrouting after source NAT.
const (
	preroutingPriority  = firewall.PriorityDstNAT - 10
	filterPriority      = firewall.PriorityFilter - 10
	postroutingPriority = firewall.PrioritySrcNAT + 10
)

// SwitchboardInterfaces are the iifname patterns of Switchboard's own
// devices that carry pods' frames: pod ports and VXLAN devices (sbv…),
// bridges (sbbr…), both ends of edge cables (sbe…, sbn…) and the edge's
// bridges and tunnel ports (sbw…). See packages dataplane and edge.
var SwitchboardInterfaces = []string{"sbv*", "sbbr*", "sbe*", "sbn*", "sbw*"}

// Config is what the rules are made from.
type Config struct {
	Port          uint16         // the VXLAN port; 0 is 4789
	Nodes         []netip.Addr   // every node's InternalIP(s), this node's included
	PodCIDRs      []netip.Prefix // every node's pod CIDRs
	PodInterfaces []string       // iifname patterns of the primary network's pod-side devices, e.g. "cni0", "cali*"
}

// DefaultPort is the VXLAN port of the data plane (IANA's).
const DefaultPort = 4789

// Spec returns the table's content for c. It reports an invalid interface
// pattern or address.
func Spec(c Config) (firewall.Spec, error) {
	port := c.Port
	if port == 0 {
		port = DefaultPort
	}
	var n4, n6, p4, p6 []netip.Prefix
	for _, a := range c.Nodes {
		a = a.Unmap()
		if !a.IsValid() {
			return firewall.Spec{}, fmt.Errorf("node address %v: not an IP address", a)
		}
		if a.Is4() {
			n4 = append(n4, netip.PrefixFrom(a, 32))
		} else {
			n6 = append(n6, netip.PrefixFrom(a, 128))
		}
	}
	for _, p := range c.PodCIDRs {
		if !p.IsValid() {
			return firewall.Spec{}, fmt.Errorf("pod CIDR %v: not a prefix", p)
		}
		if p.Addr().Is4() {
			p4 = append(p4, p)
		} else {
			p6 = append(p6, p)
		}
	}
	ifs := slices.Concat(SwitchboardInterfaces, c.PodInterfaces)
	vx := firewall.UDPDport(port)
	var fromPods []firewall.Rule // by interface, then by address
	for _, pattern := range ifs {
		fromPods = append(fromPods, drop("from a pod-side interface", vx, firewall.IifName(pattern)))
	}
	byInterface := len(fromPods)
	fromPods = append(fromPods,
		drop("from a pod address", vx, firewall.SAddrIn(firewall.IPv4, Pods4)),
		drop("from a pod address", vx, firewall.SAddrIn(firewall.IPv6, Pods6)))

	// The nodes' own VXLAN, sent by this node or arriving from another one
	// on an interface that is not pod-side, is exempt from connection
	// tracking (Calico and Cilium do the same for their overlays): the
	// kernel would otherwise make and look up a conntrack entry for every
	// packet of every pod's traffic. The rules above do not depend on it:
	// what comes from a pod-side interface is still tracked (and so still
	// seen as source-NATed after a masquerade), and dropped all the same.
	fromNode := func(f firewall.AddrType, set string) firewall.Rule {
		m := []firewall.Match{vx, firewall.SAddrIn(f, set)}
		for _, pattern := range ifs {
			m = append(m, firewall.IifNameNot(pattern))
		}
		return firewall.Rule{Match: m, Counter: true, Verdict: firewall.Notrack, Comment: "VXLAN from a node: not tracked"}
	}
	// With br_netfilter (on in every namespace by default), the frames a
	// network's bridge forwards between its pods and its VXLAN device pass
	// the IP hooks too, with the bridge as input interface, and conntrack
	// would track every pod's flow a second time on the node. Nothing on
	// the node needs that state: the networks are L2 (no node address, no
	// NAT on them), and the drops above match by interface.
	bridged := func(pattern string) firewall.Rule {
		return firewall.Rule{Match: []firewall.Match{firewall.IifName(pattern)}, Counter: true, Verdict: firewall.Notrack, Comment: "bridged by a network: not tracked"}
	}
	own := func(f firewall.AddrType, set string) firewall.Rule {
		return firewall.Rule{Match: []firewall.Match{vx, firewall.SAddrIn(f, set)}, Counter: true, Verdict: firewall.Notrack, Comment: "this node's VXLAN: not tracked"}
	}
	spec := firewall.Spec{
		Sets: []firewall.Set{
			{Name: Nodes4, Type: firewall.IPv4, Elements: n4},
			{Name: Nodes6, Type: firewall.IPv6, Elements: n6},
			{Name: Pods4, Type: firewall.IPv4, Interval: true, Elements: p4},
			{Name: Pods6, Type: firewall.IPv6, Interval: true, Elements: p6},
		},
		Chains: []firewall.Chain{
			{Name: "notrack-in", Hook: firewall.Prerouting, Priority: firewall.PriorityRaw, Rules: []firewall.Rule{
				fromNode(firewall.IPv4, Nodes4), fromNode(firewall.IPv6, Nodes6),
				bridged(devname.PrefixBridge + "*"), bridged(devname.PrefixLinkBridge + "*"),
			}},
			{Name: "notrack-out", Hook: firewall.Output, Priority: firewall.PriorityRaw, Rules: []firewall.Rule{
				own(firewall.IPv4, Nodes4), own(firewall.IPv6, Nodes6),
			}},
			{Name: "prerouting", Hook: firewall.Prerouting, Priority: preroutingPriority, Rules: fromPods},
			{Name: "forward", Hook: firewall.Forward, Priority: filterPriority, Rules: fromPods},
			{Name: "postrouting", Hook: firewall.Postrouting, Priority: postroutingPriority, Rules: []firewall.Rule{
				drop("source-NATed on this node: a pod's", vx, firewall.CtStatusSNAT()),
			}},
			{Name: "input", Hook: firewall.Input, Priority: filterPriority, Rules: slices.Concat(
				fromPods[:byInterface],
				[]firewall.Rule{
					{Match: []firewall.Match{vx, firewall.SAddrIn(firewall.IPv4, Nodes4)}, Verdict: firewall.Accept, Comment: "VXLAN from a node"},
					{Match: []firewall.Match{vx, firewall.SAddrIn(firewall.IPv6, Nodes6)}, Verdict: firewall.Accept, Comment: "VXLAN from a node"},
					drop("not from a node", vx),
				}),
			},
		},
	}
	if err := spec.Validate(); err != nil {
		return firewall.Spec{}, err
	}
	return spec, nil
}

func drop(why string, m ...firewall.Match) firewall.Rule {
	return firewall.Rule{Match: m, Counter: true, Verdict: firewall.Drop, Comment: "VXLAN " + why}
}
