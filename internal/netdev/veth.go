package netdev

import (
	"fmt"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netlink/nl"
	"github.com/vishvananda/netns"
)

// VethPeer is the far end of a veth pair: created directly inside the
// namespace NS (a pod's) under Name with the MAC.
type VethPeer struct {
	Name string
	MAC  MAC
	NS   netns.NsHandle
}

// AddVeth creates a veth pair whose host end is name (in d's namespace)
// and whose other end is peer, both with the MTU, and returns the host end
// as made (IPv6 address generation off). Nothing is brought
// up. A failure after the pair was made deletes it again. A name that
// exists already is an error: the caller looks (Find) before it creates.
func (d *Devices) AddVeth(name string, mtu int, peer VethPeer) (netlink.Link, error) {
	la := netlink.NewLinkAttrs()
	la.Name, la.MTU = name, mtu
	veth := &netlink.Veth{
		LinkAttrs: la, PeerName: peer.Name, PeerHardwareAddr: peer.MAC.HW(), PeerNamespace: netlink.NsFd(peer.NS),
		PeerTxQLen: -1, // the kernel's default, as for the host end
	}
	if err := d.h.LinkAdd(veth); err != nil {
		return nil, fmt.Errorf("add veth %q: %w", name, err)
	}
	// LinkAdd has read back the new host end's index (an existing link of
	// the name would have failed it), and veth holds what it was made
	// with: no need to read the link again (one rtnetlink request fewer
	// on every CNI ADD).
	if err := d.h.LinkSetIP6AddrGenMode(veth, nl.IN6_ADDR_GEN_MODE_NONE); err != nil {
		_ = d.h.LinkDel(veth)
		return nil, fmt.Errorf("turn off IPv6 addresses on %q: %w", name, err)
	}
	return veth, nil
}
