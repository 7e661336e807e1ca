package edge

import (
	"errors"
	"fmt"
	"maps"
	"net"
	"slices"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netlink/nl"
	"golang.org/x/sys/unix"

	"switchboard/internal/edge/tunnel"
)

// ensureLink converges one link: its bridge, its tunnel port on the bridge,
// and its cable on the bridge. The WAN side is made even when the cable is
// missing, so that the link works as soon as the agent makes it.
func (e *Edge) ensureLink(tun tunnel.Tunnel, p linkPlan) error {
	br, err := e.ensureBridge(p.id, p.mtu)
	if err != nil {
		return err
	}
	dev, err := tun.Ensure(p.port)
	if err != nil {
		delete(e.tunDev, p.id)
		return err
	}
	e.tunDev[p.id] = dev
	if err := e.enslave(dev, br); err != nil {
		return err
	}
	return e.takeCable(p.cable, br)
}

// ensureBridge makes sure sbwb<id> is an up bridge with the MTU, without
// addresses and multicast snooping.
func (e *Edge) ensureBridge(id uint32, mtu int) (netlink.Link, error) {
	name := BridgeName(id)
	l, err := e.h.LinkByName(name)
	if err != nil && !isNotFound(err) {
		return nil, fmt.Errorf("find %q: %w", name, err)
	}
	if l != nil && l.Type() != "bridge" {
		e.log.Info("replacing device of the wrong type", "dev", name, "type", l.Type())
		if err := e.h.LinkDel(l); err != nil && !isNotFound(err) {
			return nil, fmt.Errorf("delete %q: %w", name, err)
		}
		l = nil
	}
	if l == nil {
		la := netlink.NewLinkAttrs()
		la.Name, la.MTU = name, mtu
		off := false
		if err := e.h.LinkAdd(&netlink.Bridge{LinkAttrs: la, MulticastSnooping: &off}); err != nil && !errors.Is(err, unix.EEXIST) {
			return nil, fmt.Errorf("add bridge %q: %w", name, err)
		}
		if l, err = e.h.LinkByName(name); err != nil {
			return nil, fmt.Errorf("find %q: %w", name, err)
		}
		if l.Type() != "bridge" {
			return nil, fmt.Errorf("%q exists as a %s: delete it (ip link del %s)", name, l.Type(), name)
		}
		if err := e.h.LinkSetIP6AddrGenMode(l, nl.IN6_ADDR_GEN_MODE_NONE); err != nil {
			return nil, fmt.Errorf("turn off IPv6 addresses on %q: %w", name, err)
		}
		// Setting the MTU explicitly pins it: the bridge no longer follows
		// its smallest port's.
		if err := e.h.LinkSetMTU(l, mtu); err != nil {
			return nil, fmt.Errorf("set MTU of %q: %w", name, err)
		}
		e.log.Info("created bridge", "vni", id, "dev", name, "mtu", mtu)
	}
	if br, ok := l.(*netlink.Bridge); ok && (br.MulticastSnooping == nil || *br.MulticastSnooping) {
		if err := e.h.BridgeSetMcastSnoop(l, false); err != nil {
			return nil, fmt.Errorf("turn off multicast snooping on %q: %w", name, err)
		}
	}
	return l, e.fixDevice(l, mtu)
}

// fixDevice corrects what may drift on a device of ours: MTU, addresses (it
// must have none) and up state.
func (e *Edge) fixDevice(l netlink.Link, mtu int) error {
	name := l.Attrs().Name
	if l.Attrs().MTU != mtu {
		if err := e.h.LinkSetMTU(l, mtu); err != nil {
			return fmt.Errorf("set MTU of %q: %w", name, err)
		}
		e.log.Info("changed MTU", "dev", name, "from", l.Attrs().MTU, "mtu", mtu)
	}
	addrs, err := e.h.AddrList(l, netlink.FAMILY_ALL)
	if err != nil {
		return fmt.Errorf("list addresses of %q: %w", name, err)
	}
	for _, a := range addrs {
		if err := e.h.AddrDel(l, &a); err != nil && !isNotFound(err) {
			return fmt.Errorf("delete address %s of %q: %w", a.IPNet, name, err)
		}
		e.log.Info("removed address", "dev", name, "addr", a.IPNet.String())
	}
	if l.Attrs().Flags&net.FlagUp == 0 {
		if err := e.h.LinkSetUp(l); err != nil {
			return fmt.Errorf("set %q up: %w", name, err)
		}
	}
	return nil
}

// enslave makes the device called dev, one of ours, a port of br.
func (e *Edge) enslave(dev string, br netlink.Link) error {
	l, err := e.h.LinkByName(dev)
	if err != nil {
		return fmt.Errorf("find %q: %w", dev, err)
	}
	if l.Attrs().MasterIndex == br.Attrs().Index {
		return nil
	}
	if err := e.h.LinkSetMasterByIndex(l, br.Attrs().Index); err != nil {
		return fmt.Errorf("enslave %q to %q: %w", dev, br.Attrs().Name, err)
	}
	return nil
}

// takeCable makes the agent's cable a port of br. It takes a cable without
// a master or on another of the edge's bridges (the cable moved between
// links), and refuses one on any other device. It changes nothing else
// about the cable.
func (e *Edge) takeCable(cable string, br netlink.Link) error {
	if cable == "" {
		return fmt.Errorf("%w: no cable given for the link", ErrNoCable)
	}
	l, err := e.h.LinkByName(cable)
	if isNotFound(err) {
		return fmt.Errorf("%w: %q not found: the agent makes it for a network with an edge cable on this node", ErrNoCable, cable)
	}
	if err != nil {
		return fmt.Errorf("find cable %q: %w", cable, err)
	}
	mi := l.Attrs().MasterIndex
	if mi == br.Attrs().Index {
		return nil
	}
	if mi != 0 {
		m, err := e.h.LinkByIndex(mi)
		if err != nil && !isNotFound(err) {
			return fmt.Errorf("find the master of cable %q: %w", cable, err)
		}
		if m != nil && !ours(m.Attrs().Name) {
			return fmt.Errorf("%w: %q is a port of %q, which the edge did not make: free it (ip link set %s nomaster)",
				ErrCableTaken, cable, m.Attrs().Name, cable)
		}
	}
	if err := e.h.LinkSetMasterByIndex(l, br.Attrs().Index); err != nil {
		return fmt.Errorf("enslave cable %q to %q: %w", cable, br.Attrs().Name, err)
	}
	e.log.Info("took cable", "dev", cable, "bridge", br.Attrs().Name)
	return nil
}

// removeStale deletes the bridges and tunnel ports of links not in keep.
// Deleting a bridge frees its cable, which stays for the agent.
func (e *Edge) removeStale(tun tunnel.Tunnel, keep map[uint32]bool) error {
	var errs []error
	ids, err := tun.IDs()
	if err != nil {
		errs = append(errs, err)
	}
	for _, id := range ids {
		if keep[id] {
			continue
		}
		if err := tun.Remove(id); err != nil {
			errs = append(errs, err)
		}
		delete(e.tunDev, id)
	}
	links, err := e.h.LinkList()
	if err != nil {
		return errors.Join(append(errs, fmt.Errorf("list links: %w", err))...)
	}
	bridges := map[uint32]netlink.Link{}
	for _, l := range links {
		if id, ok := parseBridgeName(l.Attrs().Name); ok && !keep[id] {
			bridges[id] = l
		}
	}
	for _, id := range slices.Sorted(maps.Keys(bridges)) {
		err := e.h.LinkDel(bridges[id])
		if err != nil && !isNotFound(err) {
			errs = append(errs, fmt.Errorf("delete %q: %w", BridgeName(id), err))
			continue
		}
		e.log.Info("deleted bridge", "vni", id, "dev", BridgeName(id))
	}
	return errors.Join(errs...)
}

// isNotFound reports whether err means the link or address is gone.
func isNotFound(err error) bool {
	var lnf netlink.LinkNotFoundError
	return errors.As(err, &lnf) || errors.Is(err, unix.ENODEV) || errors.Is(err, unix.ENOENT) ||
		errors.Is(err, unix.EADDRNOTAVAIL)
}
