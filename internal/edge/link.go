package edge

import (
	"errors"
	"fmt"
	"maps"
	"slices"

	"github.com/vishvananda/netlink"

	"switchboard/internal/edge/tunnel"
	"switchboard/internal/netdev"
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
	return e.dev.With("vni", id).EnsureBridge(BridgeName(id), mtu)
}

// enslave makes the device called dev, one of ours, a port of br.
func (e *Edge) enslave(dev string, br netlink.Link) error {
	l, err := e.h.LinkByName(dev)
	if err != nil {
		return fmt.Errorf("find %q: %w", dev, err)
	}
	return e.dev.Enslave(l, br)
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
	if netdev.IsNotFound(err) {
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
		if err != nil && !netdev.IsNotFound(err) {
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
		if err != nil && !netdev.IsNotFound(err) {
			errs = append(errs, fmt.Errorf("delete %q: %w", BridgeName(id), err))
			continue
		}
		e.log.Info("deleted bridge", "vni", id, "dev", BridgeName(id))
	}
	return errors.Join(errs...)
}
