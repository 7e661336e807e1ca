// Package tunnel carries the Ethernet segments of inter-cluster links
// between edge devices across the WAN. For each link a Tunnel makes one
// kernel network device, the link's tunnel port, which the edge enslaves to
// the link's bridge: frames the bridge sends into the port reach the remote
// edges, and frames from them come out of it.
//
// Two implementations: WireGuard (VXLAN ports inside one WireGuard device,
// the default) and plain VXLAN on the WAN (only behind the edge's
// --insecure-plain-vxlan-wan). The interface is what the edge needs and no
// more. The kernel work of an
// implementation is package netdev's: EnsureVXLAN makes the port over
// whatever device carries it, SyncSelfFDB keeps its forwarding entries
// (wantFDB computes them from the Port).
package tunnel

import (
	"net"
	"net/netip"

	"switchboard/internal/netdev/devname"
)

// Tunnel makes and removes the tunnel ports of links. Implementations are
// not safe for concurrent use; the edge serialises its calls.
type Tunnel interface {
	// Overhead is the number of bytes the tunnel adds to each frame on the
	// WAN: a link's MTU is at most the WAN device's MTU minus it.
	Overhead() int
	// Connect makes the tunnel reach exactly the remote edges of every
	// link, given all at once before the links' Ensure calls (a WireGuard
	// device's peers); plain VXLAN needs nothing.
	Connect(all []Remote) error
	// Ensure makes the port of link p.ID exist, match p, be up, and hold
	// exactly p's forwarding entries; it changes only what differs and
	// returns the port's device name. It may be called many times with the
	// same Port.
	Ensure(p Port) (dev string, err error)
	// Remove deletes the port of link id; a port that does not exist is
	// success.
	Remove(id uint32) error
	// IDs returns the links that have a port in the kernel, whoever asked
	// for them, so that the edge can remove those it no longer wants.
	IDs() ([]uint32, error)
}

// Port is the desired tunnel port of one link.
type Port struct {
	ID      uint32   // the link's inter-cluster ID (the VNI on the WAN)
	MTU     int      // of the port device
	Remotes []Remote // the remote edges of the link
}

// Remote is one remote edge of a link.
type Remote struct {
	Endpoint netip.Addr         // its WAN address
	MACs     []net.HardwareAddr // members behind it, when known
	// PublicKey is the remote edge's WireGuard public key (base64); empty
	// for an edge that runs plain VXLAN.
	PublicKey string
}

// MaxID is the largest link ID: VXLAN network identifiers have 24 bits.
const MaxID = devname.MaxVNI
