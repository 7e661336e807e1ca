package dataplane

import (
	"errors"
	"fmt"
	"net"
	"net/netip"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// dumpRetries bounds how often a dump interrupted by a concurrent change is
// repeated before Set gives up.
const dumpRetries = 5

// neighDump lists neighbour or FDB entries of a device, repeating dumps that
// a concurrent change interrupted.
func (d *Dataplane) neighDump(index, family int) ([]netlink.Neigh, error) {
	var err error
	for range dumpRetries {
		var ns []netlink.Neigh
		if ns, err = d.h.NeighList(index, family); err == nil {
			return ns, nil
		}
		if !errors.Is(err, netlink.ErrDumpInterrupted) {
			break
		}
	}
	return nil, err
}

// readFDB returns the VXLAN device's own FDB entries and the bridge's
// non-local entries for the VXLAN port.
func (d *Dataplane) readFDB(vx netlink.Link) (curFDB, error) {
	cur := curFDB{master: map[mac]bool{}}
	entries, err := d.neighDump(vx.Attrs().Index, unix.AF_BRIDGE)
	if err != nil {
		return cur, fmt.Errorf("list FDB of %q: %w", vx.Attrs().Name, err)
	}
	for _, n := range entries {
		m, ok := macOf(n.HardwareAddr)
		if !ok {
			continue
		}
		if n.MasterIndex != 0 || n.Flags&netlink.NTF_MASTER != 0 {
			// The bridge's: the port's own address is local (permanent)
			// and not ours to manage; VLAN entries are not ours either.
			if n.State&netlink.NUD_PERMANENT == 0 && n.Vlan == 0 {
				cur.master[m] = n.State&netlink.NUD_NOARP != 0
			}
			continue
		}
		dst, ok := netip.AddrFromSlice(n.IP)
		if !ok {
			continue
		}
		cur.self = append(cur.self, fdbEntry{MAC: m, Dst: dst.Unmap()})
	}
	return cur, nil
}

// syncFDB converges the FDB entries of a network's VXLAN port to p.
func (d *Dataplane) syncFDB(vx netlink.Link, p netPlan) error {
	cur, err := d.readFDB(vx)
	if err != nil {
		return err
	}
	for _, op := range diffFDB(cur, p) {
		n := &netlink.Neigh{
			LinkIndex:    vx.Attrs().Index,
			Family:       unix.AF_BRIDGE,
			HardwareAddr: op.Entry.MAC.hw(),
		}
		if op.Master {
			n.Flags, n.State = netlink.NTF_MASTER, netlink.NUD_NOARP
		} else {
			n.Flags, n.State = netlink.NTF_SELF, netlink.NUD_PERMANENT
			n.IP = net.IP(op.Entry.Dst.AsSlice())
		}
		switch op.Op {
		case "replace":
			err = d.h.NeighSet(n)
		case "append":
			err = d.h.NeighAppend(n)
		case "del":
			if err = d.h.NeighDel(n); isNotFound(err) {
				err = nil
			}
		}
		if err != nil {
			return fmt.Errorf("apply %q to the FDB of %q: %w", op.String(), vx.Attrs().Name, err)
		}
		d.log.Debug("fdb", "vni", p.vni, "op", op.String())
	}
	return nil
}

// syncNeigh converges the VXLAN device's neighbour table, which its proxy
// answers ARP and neighbour solicitations from, to p.
func (d *Dataplane) syncNeigh(vx netlink.Link, p netPlan) error {
	cur := map[netip.Addr]neighEntry{}
	for _, fam := range []int{netlink.FAMILY_V4, netlink.FAMILY_V6} {
		entries, err := d.neighDump(vx.Attrs().Index, fam)
		if err != nil {
			return fmt.Errorf("list neighbours of %q: %w", vx.Attrs().Name, err)
		}
		for _, n := range entries {
			ip, ok := netip.AddrFromSlice(n.IP)
			if !ok || ip.IsMulticast() {
				continue
			}
			m, _ := macOf(n.HardwareAddr)
			cur[ip.Unmap()] = neighEntry{MAC: m, Permanent: n.State&netlink.NUD_PERMANENT != 0}
		}
	}
	for _, op := range diffNeigh(cur, p.neigh) {
		n := &netlink.Neigh{
			LinkIndex: vx.Attrs().Index,
			Family:    netlink.FAMILY_V4,
			IP:        net.IP(op.IP.AsSlice()),
		}
		if op.IP.Is6() {
			n.Family = netlink.FAMILY_V6
		}
		var err error
		if op.Op == "del" {
			if err = d.h.NeighDel(n); isNotFound(err) {
				err = nil
			}
		} else {
			n.State, n.HardwareAddr = netlink.NUD_PERMANENT, op.MAC.hw()
			err = d.h.NeighSet(n)
		}
		if err != nil {
			return fmt.Errorf("apply %q to the neighbours of %q: %w", op.String(), vx.Attrs().Name, err)
		}
		d.log.Debug("neighbour", "vni", p.vni, "op", op.String())
	}
	return nil
}
