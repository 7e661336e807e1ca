package dataplane

import (
	"errors"
	"fmt"
	"maps"
	"net"
	"net/netip"
	"slices"

	"github.com/vishvananda/netlink"

	"switchboard/internal/netdev"
)

// ensureNetwork converges one network's bridge, VXLAN device, entries and,
// if it has one, edge cable.
func (d *Dataplane) ensureNetwork(p netPlan, underlay netlink.Link, local netip.Addr) error {
	dev := d.dev.With("vni", p.vni)
	br, err := dev.EnsureBridge(bridgeName(p.vni), p.mtu)
	if err != nil {
		return err
	}
	// A VXLAN device with different immutable attributes is replaced; its
	// FDB and neighbour entries go with it, and the syncs put them back.
	vx, err := dev.EnsureVXLAN(wantVXLAN(p, underlay, local), br)
	if err != nil {
		return err
	}
	if err := dev.SyncFDB(vx, p.fdb()); err != nil {
		return err
	}
	if err := dev.SyncNeigh(vx, p.neigh); err != nil {
		return err
	}
	if p.cable {
		return d.ensureCable(p.vni, p.mtu, br)
	}
	return nil
}

// wantVXLAN is the VXLAN device of plan p.
func wantVXLAN(p netPlan, underlay netlink.Link, local netip.Addr) *netlink.Vxlan {
	la := netlink.NewLinkAttrs()
	la.Name, la.MTU = vxlanName(p.vni), p.mtu
	return &netlink.Vxlan{
		LinkAttrs:    la,
		VxlanId:      int(p.vni),
		VtepDevIndex: underlay.Attrs().Index,
		SrcAddr:      net.IP(local.Unmap().AsSlice()),
		Port:         VXLANPort,
		Learning:     false,
		Proxy:        !p.flood,
	}
}

// ourDevices are the devices of one network, any of them nil: bridge,
// VXLAN device and the two ends of the edge cable.
type ourDevices struct{ br, vx, port, cable netlink.Link }

// listNetworks returns this package's devices by VNI, and every link.
func (d *Dataplane) listNetworks() (map[uint32]*ourDevices, []netlink.Link, error) {
	links, err := d.h.LinkList()
	if err != nil {
		return nil, nil, fmt.Errorf("list links: %w", err)
	}
	nets := map[uint32]*ourDevices{}
	for _, l := range links {
		vni, kind, ok := parseDevName(l.Attrs().Name)
		if !ok {
			continue
		}
		if nets[vni] == nil {
			nets[vni] = &ourDevices{}
		}
		switch kind {
		case kindBridge:
			nets[vni].br = l
		case kindVXLAN:
			nets[vni].vx = l
		case kindEdgePort:
			nets[vni].port = l
		case kindCable:
			nets[vni].cable = l
		}
	}
	return nets, links, nil
}

// ports returns the names of br's ports other than the package's own
// devices (its VXLAN device and edge cable): the host ends of pod
// interfaces.
func ports(br netlink.Link, links []netlink.Link) []string {
	var out []string
	for _, l := range links {
		a := l.Attrs()
		if a.MasterIndex != br.Attrs().Index {
			continue
		}
		if _, _, ok := parseDevName(a.Name); ok {
			continue
		}
		out = append(out, a.Name)
	}
	slices.Sort(out)
	return out
}

// removeNetworks deletes the devices of networks not in keep whose bridge
// has no pod ports, and returns the ports of those it kept.
func (d *Dataplane) removeNetworks(keep map[uint32]bool) (map[uint32][]string, error) {
	nets, links, err := d.listNetworksKeeping()
	if err != nil {
		return nil, err
	}
	inUse := map[uint32][]string{}
	var errs []error
	for _, vni := range slices.Sorted(maps.Keys(nets)) {
		if keep[vni] {
			continue
		}
		ps, err := d.removeNetwork(vni, nets[vni], links)
		if len(ps) > 0 {
			d.log.Info("keeping network with pod ports", "vni", vni, "ports", ps)
			inUse[vni] = ps
		}
		if err != nil {
			errs = append(errs, err)
		}
	}
	return inUse, errors.Join(errs...)
}

// removeUnused deletes one network's devices if no pod port is left.
func (d *Dataplane) removeUnused(vni uint32) error {
	nets, links, err := d.listNetworksKeeping()
	if err != nil || nets[vni] == nil {
		return err
	}
	_, err = d.removeNetwork(vni, nets[vni], links)
	return err
}

// listNetworksKeeping is listNetworks for a removal: it first forgets the
// pods PreparePod made before the listing (they are in the links), so that
// removeNetwork counts, besides the links, those made after it. PreparePod
// makes pods without d.mu; the caller holds d.mu.
func (d *Dataplane) listNetworksKeeping() (map[uint32]*ourDevices, []netlink.Link, error) {
	d.podMu.Lock()
	clear(d.joined)
	d.podMu.Unlock()
	return d.listNetworks()
}

// removeNetwork deletes a network's devices unless its bridge has pod
// ports, which it returns instead.
func (d *Dataplane) removeNetwork(vni uint32, n *ourDevices, links []netlink.Link) ([]string, error) {
	var ps []string
	if n.br != nil {
		ps = d.live(ports(n.br, links))
	}
	// Pods being made on the network (PreparePod), or made since links
	// was listed, are ports too. podMu is held until the devices are gone,
	// so that a PreparePod either is counted here or finds the devices gone
	// (bridgeFor).
	d.podMu.Lock()
	defer d.podMu.Unlock()
	ps = append(ps, slices.Sorted(maps.Keys(d.addingTo[vni]))...)
	if ps = append(ps, d.joined[vni]...); len(ps) > 0 {
		return ps, nil
	}
	for _, l := range []netlink.Link{n.port, n.cable, n.vx, n.br} {
		if l == nil {
			continue
		}
		err := d.h.LinkDel(l)
		if netdev.IsNotFound(err) {
			continue // e.g. the cable, gone with its peer
		}
		if err != nil {
			return nil, fmt.Errorf("delete %q: %w", l.Attrs().Name, err)
		}
		d.log.Info("deleted device", "vni", vni, "dev", l.Attrs().Name)
	}
	return nil, nil
}
