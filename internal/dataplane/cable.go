package dataplane

import (
	"errors"
	"fmt"
	"maps"
	"slices"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netlink/nl"
	"golang.org/x/sys/unix"

	"switchboard/internal/netdev"
	"switchboard/internal/netdev/devname"
)

// ensureCable makes sure network vni's edge cable exists: a veth pair
// sbe<vni> - sbn<vni> in the node's namespace, both ends up with the
// network's MTU and no addresses, sbe<vni> a port of br. A half of the pair
// whose peer is not the other half is deleted and the pair made anew. The
// master of sbn<vni> is left alone: it belongs to the edge.
func (d *Dataplane) ensureCable(vni uint32, mtu int, br netlink.Link) error {
	portName, cableName := edgePortName(vni), devname.EdgeCable(vni)
	port, err := d.dev.Find(portName, "veth")
	if err != nil {
		return err
	}
	cable, err := d.dev.Find(cableName, "veth")
	if err != nil {
		return err
	}
	if port != nil && (cable == nil || !sameNSPair(port, cable)) {
		d.log.Info("replacing edge cable end without its peer", "vni", vni, "dev", portName)
		if err := d.h.LinkDel(port); err != nil && !netdev.IsNotFound(err) {
			return fmt.Errorf("delete %q: %w", portName, err)
		}
		port = nil
	}
	if port == nil {
		if port, cable, err = d.addCable(vni, mtu, cable); err != nil {
			return err
		}
	}
	if err := d.dev.Enslave(port, br); err != nil {
		return err
	}
	if err := d.dev.Fix(port, mtu); err != nil {
		return err
	}
	return d.dev.Fix(cable, mtu)
}

// addCable creates the pair, deleting first a stray sbn<vni> (one whose peer
// is not sbe<vni>), and returns both ends. A pair that appears meanwhile
// ("already exists") is accepted if it is a pair.
func (d *Dataplane) addCable(vni uint32, mtu int, stray netlink.Link) (port, cable netlink.Link, err error) {
	portName, cableName := edgePortName(vni), devname.EdgeCable(vni)
	if stray != nil {
		if err := d.h.LinkDel(stray); err != nil && !netdev.IsNotFound(err) {
			return nil, nil, fmt.Errorf("delete stray %q: %w", cableName, err)
		}
	}
	la := netlink.NewLinkAttrs()
	la.Name, la.MTU = portName, mtu
	veth := &netlink.Veth{LinkAttrs: la, PeerName: cableName, PeerMTU: uint32(mtu), PeerTxQLen: -1}
	if err := d.h.LinkAdd(veth); err != nil && !errors.Is(err, unix.EEXIST) {
		return nil, nil, fmt.Errorf("add edge cable %q - %q: %w", portName, cableName, err)
	}
	if port, err = d.h.LinkByName(portName); err != nil {
		return nil, nil, fmt.Errorf("find %q: %w", portName, err)
	}
	if cable, err = d.h.LinkByName(cableName); err != nil {
		return nil, nil, fmt.Errorf("find %q: %w", cableName, err)
	}
	if !sameNSPair(port, cable) {
		return nil, nil, fmt.Errorf("%q and %q exist but are not one veth pair: delete them (ip link del %s) and call Set again", portName, cableName, portName)
	}
	// Both ends are L2 ports (of our bridge and of the edge's), never IP hosts.
	for _, l := range []netlink.Link{port, cable} {
		if err := d.h.LinkSetIP6AddrGenMode(l, nl.IN6_ADDR_GEN_MODE_NONE); err != nil {
			return nil, nil, fmt.Errorf("turn off IPv6 addresses on %q: %w", l.Attrs().Name, err)
		}
	}
	d.log.Info("created edge cable", "vni", vni, "dev", portName, "cable", cableName, "mtu", mtu)
	return port, cable, nil
}

// sameNSPair reports whether a and b are the two ends of one veth pair in
// the same namespace.
func sameNSPair(a, b netlink.Link) bool {
	return a.Type() == "veth" && b.Type() == "veth" &&
		a.Attrs().ParentIndex == b.Attrs().Index && b.Attrs().ParentIndex == a.Attrs().Index &&
		a.Attrs().NetNsID < 0 && b.Attrs().NetNsID < 0
}

// removeCables deletes the edge cables of networks not in keep: those whose
// network lost EdgeCable, left the Config or is gone altogether.
func (d *Dataplane) removeCables(keep map[uint32]bool) error {
	nets, _, err := d.listNetworks()
	if err != nil {
		return err
	}
	var errs []error
	for _, vni := range slices.Sorted(maps.Keys(nets)) {
		n := nets[vni]
		if keep[vni] {
			continue
		}
		for _, l := range []netlink.Link{n.port, n.cable} {
			if l == nil {
				continue
			}
			err := d.h.LinkDel(l)
			if netdev.IsNotFound(err) {
				continue // gone with its peer
			}
			if err != nil {
				errs = append(errs, fmt.Errorf("delete edge cable %q: %w", l.Attrs().Name, err))
				continue
			}
			d.log.Info("deleted edge cable", "vni", vni, "dev", l.Attrs().Name)
		}
	}
	return errors.Join(errs...)
}
