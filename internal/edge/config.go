package edge

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"

	"switchboard/internal/edge/tunnel"
	"switchboard/internal/netdev/devname"
)

// Config is the desired state of the edge's links.
type Config struct {
	WANLocal  netip.Addr // the edge's WAN address, source of its tunnels
	WANDevice string     // the interface that holds WANLocal; its MTU bounds the links'
	WANPort   uint16     // UDP port of the tunnels; 0 is tunnel.DefaultPort (4790)
	Links     []Link
}

// Link is one inter-cluster network as this edge carries it.
type Link struct {
	ID    uint32 // the inter-cluster ID the IDCO assigned; the VNI on the WAN
	Cable string // the local segment's cable, made by the agent (e.g. "sbn4096")
	MTU   int    // of the bridge and tunnel port; 0 is the WAN device's MTU minus the tunnel's overhead
	Peers []Peer // the remote edges of this network
}

// Peer is the edge of another cluster on a link.
type Peer struct {
	Cluster   string             // for logs and status
	Endpoint  netip.Addr         // its WAN address
	MACs      []net.HardwareAddr // members behind it, when known
	PublicKey string             // its WireGuard public key; empty if it runs plain VXLAN
}

const minMTU = 68

// ErrInvalid marks errors caused by invalid input rather than by the kernel.
var ErrInvalid = errors.New("invalid")

// ErrNoCable marks a link whose cable does not exist (yet): the agent makes
// it when the network has an edge cable on this node.
var ErrNoCable = errors.New("cable missing")

// ErrCableTaken marks a link whose cable is a port of a device this edge
// did not make.
var ErrCableTaken = errors.New("cable taken")

func invalidf(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalid, fmt.Sprintf(format, args...))
}

// LinkError is a problem of one link; Set goes on with the others. Unwrap
// gives ErrNoCable, ErrCableTaken, ErrInvalid or a kernel error.
type LinkError struct {
	ID  uint32
	Err error
}

func (e *LinkError) Error() string { return fmt.Sprintf("link %d: %v", e.ID, e.Err) }
func (e *LinkError) Unwrap() error { return e.Err }

// BridgeName returns the name of link id's bridge, sbwb<ID>: at most 12
// characters.
func BridgeName(id uint32) string { return devname.Numbered(devname.PrefixLinkBridge, id) }

// parseBridgeName returns the link ID of a bridge name BridgeName would make.
func parseBridgeName(name string) (uint32, bool) {
	return devname.ParseNumbered(devname.PrefixLinkBridge, name)
}

// ours reports whether a device name is one the edge makes.
func ours(name string) bool {
	_, br := parseBridgeName(name)
	_, port := tunnel.ParsePortName(name)
	return br || port
}

// validate checks the edge-wide part of a Config; links are checked one by
// one in plan, so that one bad link does not block the others.
func (c Config) validate() error {
	local := c.WANLocal.Unmap()
	switch {
	case c.WANDevice == "":
		return invalidf("no WAN device")
	case !local.IsValid() || local.IsUnspecified() || local.IsMulticast() || local.Zone() != "":
		return invalidf("WAN address %q is not a unicast address", c.WANLocal)
	}
	ids, cables := map[uint32]bool{}, map[string]uint32{}
	for _, l := range c.Links {
		if ids[l.ID] {
			return invalidf("link %d listed twice", l.ID)
		}
		ids[l.ID] = true
		if prev, dup := cables[l.Cable]; dup && l.Cable != "" {
			return invalidf("cable %q given to links %d and %d", l.Cable, prev, l.ID)
		}
		cables[l.Cable] = l.ID
	}
	return nil
}

// linkPlan is the desired state of one link.
type linkPlan struct {
	id    uint32
	mtu   int
	cable string
	port  tunnel.Port
}

// plan validates a link and computes its desired state; wanMTU and
// overhead bound its MTU, local is the edge's WAN address.
func plan(l Link, wanDevice string, wanMTU, overhead int, local netip.Addr) (linkPlan, error) {
	p := linkPlan{id: l.ID, cable: l.Cable}
	limit := wanMTU - overhead
	switch {
	case l.ID > tunnel.MaxID:
		return p, invalidf("ID %d is above %d", l.ID, tunnel.MaxID)
	case l.Cable != "" && (len(l.Cable) > 15 || strings.ContainsAny(l.Cable, "/: \t\n") || ours(l.Cable) || l.Cable == wanDevice):
		return p, invalidf("cable %q is not a device name the edge may take", l.Cable)
	case l.MTU == 0 && limit < minMTU:
		return p, invalidf("WAN MTU %d leaves %d for the link, below %d", wanMTU, limit, minMTU)
	case l.MTU != 0 && (l.MTU < minMTU || l.MTU > limit):
		return p, invalidf("MTU %d is not within %d and %d (WAN MTU %d less %d bytes of tunnel overhead)", l.MTU, minMTU, limit, wanMTU, overhead)
	}
	p.mtu = l.MTU
	if p.mtu == 0 {
		p.mtu = limit
	}
	p.port = tunnel.Port{ID: l.ID, MTU: p.mtu}
	for _, peer := range l.Peers {
		ep := peer.Endpoint.Unmap()
		if !ep.IsValid() || ep.IsUnspecified() || ep.IsMulticast() || ep.Is4() != local.Unmap().Is4() || ep == local.Unmap() {
			return p, invalidf("endpoint %q of cluster %q is not a remote unicast address of the WAN address's family", peer.Endpoint, peer.Cluster)
		}
		p.port.Remotes = append(p.port.Remotes, tunnel.Remote{
			Endpoint:  peer.Endpoint,
			MACs:      append([]net.HardwareAddr(nil), peer.MACs...),
			PublicKey: peer.PublicKey,
		})
	}
	return p, nil
}
