package netdev

import (
	"errors"
	"fmt"
	"net"
	"net/netip"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// dumpRetries bounds how often a dump interrupted by a concurrent change is
// repeated before a sync gives up.
const dumpRetries = 5

// neighDump lists the neighbour or FDB entries of a device, repeating dumps
// that a concurrent change interrupted.
func (d *Devices) neighDump(index, family int) ([]netlink.Neigh, error) {
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

// ReadFDB returns the VXLAN device vx's own FDB entries and its bridge's
// entries towards it. The bridge's permanent entries (the port's own
// address) and VLAN entries are not ours and are left out.
func (d *Devices) ReadFDB(vx netlink.Link) (FDB, error) {
	var cur FDB
	entries, err := d.neighDump(vx.Attrs().Index, unix.AF_BRIDGE)
	if err != nil {
		return cur, fmt.Errorf("list FDB of %q: %w", vx.Attrs().Name, err)
	}
	for _, n := range entries {
		m, ok := MACOf(n.HardwareAddr)
		if !ok {
			continue
		}
		if n.MasterIndex != 0 || n.Flags&netlink.NTF_MASTER != 0 {
			switch {
			case n.State&netlink.NUD_PERMANENT != 0 || n.Vlan != 0:
			case n.State&netlink.NUD_NOARP != 0:
				cur.Static = append(cur.Static, m)
			default:
				cur.Learned = append(cur.Learned, m)
			}
			continue
		}
		if dst, ok := netip.AddrFromSlice(n.IP); ok {
			cur.Self = append(cur.Self, FDBEntry{MAC: m, Dst: dst.Unmap()})
		}
	}
	return cur, nil
}

// SyncFDB converges the FDB of the VXLAN device vx, a bridge port, to want:
// its own entries to want.Self and its bridge's entries towards it to
// want.Static (static), deleting any other, learned ones included.
func (d *Devices) SyncFDB(vx netlink.Link, want FDB) error {
	have, err := d.ReadFDB(vx)
	if err != nil {
		return err
	}
	return d.applyFDB(vx, DiffFDB(have, want))
}

// SyncSelfFDB converges the VXLAN device vx's own FDB entries to self and
// leaves the entries of its bridge, if it has one, to the bridge.
func (d *Devices) SyncSelfFDB(vx netlink.Link, self []FDBEntry) error {
	have, err := d.ReadFDB(vx)
	if err != nil {
		return err
	}
	return d.applyFDB(vx, DiffFDB(FDB{Self: have.Self}, FDB{Self: self}))
}

func (d *Devices) applyFDB(vx netlink.Link, ops []FDBOp) error {
	for _, op := range ops {
		n := &netlink.Neigh{
			LinkIndex:    vx.Attrs().Index,
			Family:       unix.AF_BRIDGE,
			HardwareAddr: op.Entry.MAC.HW(),
		}
		if op.Master {
			n.Flags, n.State = netlink.NTF_MASTER, netlink.NUD_NOARP
		} else {
			n.Flags, n.State = netlink.NTF_SELF, netlink.NUD_PERMANENT
			n.IP = net.IP(op.Entry.Dst.AsSlice())
		}
		var err error
		switch op.Op {
		case "replace":
			err = d.h.NeighSet(n)
		case "append":
			err = d.h.NeighAppend(n)
		case "del":
			if err = d.h.NeighDel(n); IsNotFound(err) {
				err = nil
			}
		}
		if err != nil {
			return fmt.Errorf("apply %q to the FDB of %q: %w", op.String(), vx.Attrs().Name, err)
		}
		d.log.Debug("fdb", "dev", vx.Attrs().Name, "op", op.String())
	}
	return nil
}

// SyncNeigh converges the neighbour table of vx, which a VXLAN device's
// proxy answers ARP requests and neighbour solicitations from, to want:
// one permanent entry per address. Multicast entries are the kernel's and
// are left alone.
func (d *Devices) SyncNeigh(vx netlink.Link, want map[netip.Addr]MAC) error {
	have := map[netip.Addr]NeighEntry{}
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
			m, _ := MACOf(n.HardwareAddr)
			have[ip.Unmap()] = NeighEntry{MAC: m, Permanent: n.State&netlink.NUD_PERMANENT != 0}
		}
	}
	for _, op := range DiffNeigh(have, want) {
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
			if err = d.h.NeighDel(n); IsNotFound(err) {
				err = nil
			}
		} else {
			n.State, n.HardwareAddr = netlink.NUD_PERMANENT, op.MAC.HW()
			err = d.h.NeighSet(n)
		}
		if err != nil {
			return fmt.Errorf("apply %q to the neighbours of %q: %w", op.String(), vx.Attrs().Name, err)
		}
		d.log.Debug("neighbour", "dev", vx.Attrs().Name, "op", op.String())
	}
	return nil
}
