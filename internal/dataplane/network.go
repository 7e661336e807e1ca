package dataplane

import (
	"errors"
	"fmt"
	"maps"
	"net"
	"net/netip"
	"slices"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netlink/nl"
	"golang.org/x/sys/unix"

	"switchboard/internal/vxlan"
)

// ensureNetwork converges one network's bridge, VXLAN device, entries and,
// if it has one, edge cable.
func (d *Dataplane) ensureNetwork(p netPlan, underlay netlink.Link, local netip.Addr) error {
	br, err := d.ensureBridge(p.vni, p.mtu)
	if err != nil {
		return err
	}
	vx, err := d.ensureVXLAN(p, underlay, local, br)
	if err != nil {
		return err
	}
	if err := d.syncFDB(vx, p); err != nil {
		return err
	}
	if err := d.syncNeigh(vx, p); err != nil {
		return err
	}
	if p.cable {
		return d.ensureCable(p.vni, p.mtu, br)
	}
	return nil
}

// ensureBridge makes sure sbbr<vni> is an up bridge with the MTU, without
// addresses and without multicast snooping.
func (d *Dataplane) ensureBridge(vni uint32, mtu int) (netlink.Link, error) {
	name := bridgeName(vni)
	l, err := d.findLink(name, kindBridge)
	if err != nil {
		return nil, err
	}
	if l == nil {
		la := netlink.NewLinkAttrs()
		la.Name, la.MTU = name, mtu
		off := false
		if err := d.h.LinkAdd(&netlink.Bridge{LinkAttrs: la, MulticastSnooping: &off}); err != nil && !errors.Is(err, unix.EEXIST) {
			return nil, fmt.Errorf("add bridge %q: %w", name, err)
		}
		if l, err = d.newDevice(name); err != nil {
			return nil, err
		}
		// Setting the MTU explicitly pins it: the bridge no longer lowers
		// it to its smallest port's.
		if err := d.h.LinkSetMTU(l, mtu); err != nil {
			return nil, fmt.Errorf("set MTU of %q: %w", name, err)
		}
		d.log.Info("created bridge", "vni", vni, "dev", name, "mtu", mtu)
	}
	if br, ok := l.(*netlink.Bridge); ok && (br.MulticastSnooping == nil || *br.MulticastSnooping) {
		if err := d.h.BridgeSetMcastSnoop(l, false); err != nil {
			return nil, fmt.Errorf("turn off multicast snooping on %q: %w", name, err)
		}
	}
	return l, d.fixDevice(l, mtu)
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

// ensureVXLAN makes sure sbvx<vni> matches p, is an up port of br with
// bridge-port learning off. A device with different immutable attributes is
// replaced (its FDB and neighbour entries go with it; syncFDB and syncNeigh
// put them back).
func (d *Dataplane) ensureVXLAN(p netPlan, underlay netlink.Link, local netip.Addr, br netlink.Link) (netlink.Link, error) {
	want := wantVXLAN(p, underlay, local)
	name := want.Name
	l, err := d.findLink(name, "")
	if err != nil {
		return nil, err
	}
	if l != nil {
		if why := vxlan.Differs(l, want); why != "" {
			d.log.Info("replacing VXLAN device", "vni", p.vni, "dev", name, "differs", why)
			if err := d.h.LinkDel(l); err != nil && !isNotFound(err) {
				return nil, fmt.Errorf("delete %q: %w", name, err)
			}
			l = nil
		}
	}
	if l == nil {
		if err := d.h.LinkAdd(want); err != nil {
			return nil, fmt.Errorf("add VXLAN device %q: %w", name, err)
		}
		if l, err = d.newDevice(name); err != nil {
			return nil, err
		}
		d.log.Info("created VXLAN device", "vni", p.vni, "dev", name, "mtu", p.mtu)
	}
	if l.Attrs().MasterIndex != br.Attrs().Index {
		if err := d.h.LinkSetMasterByIndex(l, br.Attrs().Index); err != nil {
			return nil, fmt.Errorf("enslave %q to %q: %w", name, br.Attrs().Name, err)
		}
	}
	pi, err := d.h.LinkGetProtinfo(l)
	if err != nil {
		return nil, fmt.Errorf("read bridge port settings of %q: %w", name, err)
	}
	if pi.Learning {
		if err := d.h.LinkSetLearning(l, false); err != nil {
			return nil, fmt.Errorf("turn off learning on %q: %w", name, err)
		}
	}
	return l, d.fixDevice(l, p.mtu)
}

// findLink returns the link called name, nil if there is none. A link of
// another type than typ (if set) is deleted and reported as none.
func (d *Dataplane) findLink(name, typ string) (netlink.Link, error) {
	l, err := d.h.LinkByName(name)
	if isNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("find %q: %w", name, err)
	}
	if typ != "" && l.Type() != typ {
		d.log.Info("replacing device of the wrong type", "dev", name, "type", l.Type())
		if err := d.h.LinkDel(l); err != nil && !isNotFound(err) {
			return nil, fmt.Errorf("delete %q: %w", name, err)
		}
		return nil, nil
	}
	return l, nil
}

// newDevice reads a device just created and turns off IPv6 address
// generation before it comes up, so that it never holds an address.
func (d *Dataplane) newDevice(name string) (netlink.Link, error) {
	l, err := d.h.LinkByName(name)
	if err != nil {
		return nil, fmt.Errorf("find %q: %w", name, err)
	}
	if err := d.h.LinkSetIP6AddrGenMode(l, nl.IN6_ADDR_GEN_MODE_NONE); err != nil {
		return nil, fmt.Errorf("turn off IPv6 addresses on %q: %w", name, err)
	}
	return l, nil
}

// fixDevice corrects, in place, what may drift on a device of ours: MTU,
// addresses (it must have none) and up state.
func (d *Dataplane) fixDevice(l netlink.Link, mtu int) error {
	name := l.Attrs().Name
	if l.Attrs().MTU != mtu {
		if err := d.h.LinkSetMTU(l, mtu); err != nil {
			return fmt.Errorf("set MTU of %q: %w", name, err)
		}
		d.log.Info("changed MTU", "dev", name, "from", l.Attrs().MTU, "mtu", mtu)
	}
	addrs, err := d.h.AddrList(l, netlink.FAMILY_ALL)
	if err != nil {
		return fmt.Errorf("list addresses of %q: %w", name, err)
	}
	if len(addrs) > 0 {
		if err := d.h.LinkSetIP6AddrGenMode(l, nl.IN6_ADDR_GEN_MODE_NONE); err != nil {
			return fmt.Errorf("turn off IPv6 addresses on %q: %w", name, err)
		}
	}
	for _, a := range addrs {
		if err := d.h.AddrDel(l, &a); err != nil && !isNotFound(err) {
			return fmt.Errorf("delete address %s of %q: %w", a.IPNet, name, err)
		}
		d.log.Info("removed address", "dev", name, "addr", a.IPNet.String())
	}
	if l.Attrs().Flags&net.FlagUp == 0 {
		if err := d.h.LinkSetUp(l); err != nil {
			return fmt.Errorf("set %q up: %w", name, err)
		}
	}
	return nil
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
	nets, links, err := d.listNetworks()
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
	nets, links, err := d.listNetworks()
	if err != nil || nets[vni] == nil {
		return err
	}
	_, err = d.removeNetwork(vni, nets[vni], links)
	return err
}

// removeNetwork deletes a network's devices unless its bridge has pod
// ports, which it returns instead.
func (d *Dataplane) removeNetwork(vni uint32, n *ourDevices, links []netlink.Link) ([]string, error) {
	if n.br != nil {
		if ps := ports(n.br, links); len(ps) > 0 {
			return ps, nil
		}
	}
	for _, l := range []netlink.Link{n.port, n.cable, n.vx, n.br} {
		if l == nil {
			continue
		}
		err := d.h.LinkDel(l)
		if isNotFound(err) {
			continue // e.g. the cable, gone with its peer
		}
		if err != nil {
			return nil, fmt.Errorf("delete %q: %w", l.Attrs().Name, err)
		}
		d.log.Info("deleted device", "vni", vni, "dev", l.Attrs().Name)
	}
	return nil, nil
}

// isNotFound reports whether err means the link, address or entry is gone.
func isNotFound(err error) bool {
	var lnf netlink.LinkNotFoundError
	return errors.As(err, &lnf) || errors.Is(err, unix.ENODEV) || errors.Is(err, unix.ENOENT) ||
		errors.Is(err, unix.EADDRNOTAVAIL)
}
