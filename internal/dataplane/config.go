package dataplane

import (
	"errors"
	"fmt"
	"net"
	"net/netip"

	"switchboard/internal/netdev"
	"switchboard/internal/netdev/devname"
)

// Config is the desired state of a node's Switchboard data plane.
type Config struct {
	Underlay string             // underlay interface name, e.g. "eth0"
	LocalIP  netip.Addr         // VTEP source address on the underlay
	Networks map[uint32]Network // by VNI: the networks this node should have
}

// Network is one virtual network as seen from this node.
type Network struct {
	// MTU of the bridge, the VXLAN device and the pod interfaces. 0 derives
	// it from the underlay: its MTU minus 50 (IPv4 LocalIP) or 70 (IPv6),
	// or minus WANOverhead if that is larger.
	MTU int
	// WANOverhead is what the network's frames carry beyond the cluster:
	// an inter-cluster network's, netdev.InterClusterOverhead (its frames
	// cross the WAN inside the edge's tunnel, and the WAN is taken to have
	// the underlay's MTU). 0 for a network of this cluster alone.
	WANOverhead int
	Remotes     []Remote // members on other nodes

	// EdgeCable gives the cluster's edge device (switchboard-edge, on this
	// gateway node) a cable into the network's segment: a veth pair whose
	// end sbe<VNI> is a port of the network's bridge and whose other end
	// sbn<VNI> (devname.EdgeCable) stays in the node's namespace, up and
	// without a master, for the edge to enslave to its own bridge. Set
	// never changes the master of sbn<VNI>, so it does not fight the edge.
	// Without EdgeCable, Set removes the pair.
	EdgeCable bool

	// Flood turns the VXLAN device's ARP/ND proxy off. With the proxy on
	// (the default) the device answers ARP requests and neighbour
	// solicitations for the remotes' addresses itself and drops those for
	// any other address, which is right while every member is a Remote.
	// A network with members that no Remote describes (an inter-cluster
	// network: the pods of other clusters are behind the gateway's edge
	// cable) needs Flood, so that requests for unknown addresses reach
	// every member node, the gateway included, by head-end replication,
	// and the answer comes back from the member itself. Exact FDB entries
	// for the remotes' MACs stay; so do the neighbour entries, unused.
	// Changing Flood replaces the VXLAN device.
	Flood bool
}

// Remote is one member on another node: a pod interface, or a node to
// flood to.
type Remote struct {
	NodeIP netip.Addr // the other node's underlay (VTEP) address
	// MAC of the pod interface. Nil makes the remote flood-only: its node
	// gets broadcast, unknown unicast and multicast (an all-zeros FDB
	// entry) and nothing else, e.g. a gateway node whose only member is
	// the edge cable, which has no MAC of its own. A flood-only remote
	// has no IPs.
	MAC net.HardwareAddr
	IPs []netip.Addr // the pod interface's addresses; may be empty
}

const (
	// MaxVNI is the largest VXLAN network identifier.
	MaxVNI = devname.MaxVNI
	// VXLANPort is the UDP port of every VXLAN device.
	VXLANPort = 4789

	minMTU = 68 // the IPv4 minimum; IPv6 pods need 1280
)

// ErrInvalid marks errors caused by invalid input rather than by the kernel.
var ErrInvalid = errors.New("invalid")

func invalidf(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalid, fmt.Sprintf(format, args...))
}

func bridgeName(vni uint32) string   { return devname.Numbered(devname.PrefixBridge, vni) }
func vxlanName(vni uint32) string    { return devname.Numbered(devname.PrefixVXLAN, vni) }
func edgePortName(vni uint32) string { return devname.Numbered(devname.PrefixEdgePort, vni) }

// Kinds of the devices this package names after a VNI, by prefix.
const (
	kindBridge   = "bridge"
	kindVXLAN    = "vxlan"
	kindEdgePort = "edge-port"  // sbe<VNI>: the edge cable's bridge port
	kindCable    = "edge-cable" // sbn<VNI>: the edge cable's end for the edge
)

var kinds = []struct{ prefix, kind string }{
	{devname.PrefixBridge, kindBridge},
	{devname.PrefixVXLAN, kindVXLAN},
	{devname.PrefixEdgePort, kindEdgePort},
	{devname.PrefixEdgeCable, kindCable},
}

// parseDevName returns the VNI and kind (kindBridge, kindVXLAN,
// kindEdgePort or kindCable) of a device name that this package would have
// made, or ok=false for any other name, pod ports included.
func parseDevName(name string) (vni uint32, kind string, ok bool) {
	for _, k := range kinds {
		if vni, ok := devname.ParseNumbered(k.prefix, name); ok {
			return vni, k.kind, true
		}
	}
	return 0, "", false
}

// deriveMTU returns the MTU of a network: want if set, else the underlay's
// MTU minus the larger of the VXLAN overhead for the family of local and
// wanOverhead. It fails when the result does not fit in the underlay.
func deriveMTU(want, underlayMTU int, local netip.Addr, wanOverhead int) (int, error) {
	overhead := netdev.VXLANOverhead(local)
	limit := underlayMTU - overhead
	switch derived := underlayMTU - max(overhead, wanOverhead); {
	case want == 0 && derived < minMTU:
		return 0, invalidf("underlay MTU %d leaves %d for the network, below %d", underlayMTU, derived, minMTU)
	case want == 0:
		return derived, nil
	case want < minMTU:
		return 0, invalidf("MTU %d is below %d", want, minMTU)
	case want > limit:
		return 0, invalidf("MTU %d does not fit in underlay MTU %d with %d bytes of VXLAN overhead (at most %d)", want, underlayMTU, overhead, limit)
	}
	return want, nil
}

// validate checks the node-wide part of a Config; networks are checked one
// by one in planNetwork, so that one bad network does not block the others.
func (c Config) validate() error {
	if c.Underlay == "" {
		return invalidf("no underlay interface")
	}
	if !c.LocalIP.IsValid() || c.LocalIP.IsUnspecified() || c.LocalIP.IsMulticast() || c.LocalIP.Zone() != "" {
		return invalidf("local IP %q is not a unicast address", c.LocalIP)
	}
	for vni := range c.Networks {
		if vni > MaxVNI {
			return invalidf("VNI %d is above %d", vni, MaxVNI)
		}
	}
	return nil
}

// clone returns a deep copy, so that callers may reuse their Config.
func (c Config) clone() Config {
	out := Config{Underlay: c.Underlay, LocalIP: c.LocalIP, Networks: make(map[uint32]Network, len(c.Networks))}
	for vni, n := range c.Networks {
		rs := make([]Remote, len(n.Remotes))
		for i, r := range n.Remotes {
			rs[i] = Remote{
				NodeIP: r.NodeIP,
				MAC:    append(net.HardwareAddr(nil), r.MAC...),
				IPs:    append([]netip.Addr(nil), r.IPs...),
			}
		}
		out.Networks[vni] = Network{MTU: n.MTU, WANOverhead: n.WANOverhead, Remotes: rs, EdgeCable: n.EdgeCable, Flood: n.Flood}
	}
	return out
}

// unicastMAC parses hw as a unicast Ethernet address.
func unicastMAC(hw net.HardwareAddr) (netdev.MAC, error) {
	m, ok := netdev.MACOf(hw)
	if !ok || !m.IsUnicast() {
		return netdev.MAC{}, invalidf("MAC %q is not a unicast Ethernet address", hw)
	}
	return m, nil
}

// unicastIP reports whether a is an address a pod or node may hold.
func unicastIP(a netip.Addr) bool {
	return a.IsValid() && !a.IsUnspecified() && !a.IsMulticast() && a.Zone() == "" &&
		!(a.Is4() && a == netip.AddrFrom4([4]byte{255, 255, 255, 255}))
}
