package netdev

import (
	"errors"
	"fmt"
	"log/slog"
	"net"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netlink/nl"
	"golang.org/x/sys/unix"
)

// Devices programs the devices of one network namespace: the one its
// netlink handle is bound to.
type Devices struct {
	h   *netlink.Handle
	log *slog.Logger
}

// New returns Devices that work through h, which the caller owns and
// closes. log may be nil (discard).
func New(h *netlink.Handle, log *slog.Logger) *Devices {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Devices{h: h, log: log}
}

// With returns Devices on the same handle whose log lines carry args (for
// example "vni", 4096) as well.
func (d *Devices) With(args ...any) *Devices {
	return &Devices{h: d.h, log: d.log.With(args...)}
}

// IsNotFound reports whether err means the link, address or entry is gone:
// what a delete takes as success.
func IsNotFound(err error) bool {
	var lnf netlink.LinkNotFoundError
	return errors.As(err, &lnf) || errors.Is(err, unix.ENODEV) || errors.Is(err, unix.ENOENT) ||
		errors.Is(err, unix.EADDRNOTAVAIL)
}

// Find returns the link called name, nil if there is none. A link of
// another type than typ (if typ is not "") is deleted and reported as none,
// so that the caller makes the right one.
func (d *Devices) Find(name, typ string) (netlink.Link, error) {
	l, err := d.h.LinkByName(name)
	if IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("find %q: %w", name, err)
	}
	if typ != "" && l.Type() != typ {
		d.log.Info("replacing device of the wrong type", "dev", name, "type", l.Type())
		if err := d.h.LinkDel(l); err != nil && !IsNotFound(err) {
			return nil, fmt.Errorf("delete %q: %w", name, err)
		}
		return nil, nil
	}
	return l, nil
}

// Created reads the device name that the caller has just made, checks that
// it has type typ (another may have made it first, under the same name),
// and turns off IPv6 address generation before the device comes up, so
// that it never holds an address: every device of ours is a port, never an
// IP host.
func (d *Devices) Created(name, typ string) (netlink.Link, error) {
	l, err := d.h.LinkByName(name)
	if err != nil {
		return nil, fmt.Errorf("find %q: %w", name, err)
	}
	if l.Type() != typ {
		return nil, fmt.Errorf("%q exists as a %s, not a %s: delete it (ip link del %s)", name, l.Type(), typ, name)
	}
	if err := d.h.LinkSetIP6AddrGenMode(l, nl.IN6_ADDR_GEN_MODE_NONE); err != nil {
		return nil, fmt.Errorf("turn off IPv6 addresses on %q: %w", name, err)
	}
	return l, nil
}

// Fix corrects, in place, what may drift on a device of ours: the MTU,
// addresses (it must have none; if it had some, IPv6 address generation is
// turned off as well, so that no link-local address comes back when the
// device goes down and up) and the up state.
func (d *Devices) Fix(l netlink.Link, mtu int) error {
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
		if err := d.h.AddrDel(l, &a); err != nil && !IsNotFound(err) {
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

// Enslave makes l a port of br unless it is one already.
func (d *Devices) Enslave(l, br netlink.Link) error {
	if l.Attrs().MasterIndex == br.Attrs().Index {
		return nil
	}
	if err := d.h.LinkSetMasterByIndex(l, br.Attrs().Index); err != nil {
		return fmt.Errorf("enslave %q to %q: %w", l.Attrs().Name, br.Attrs().Name, err)
	}
	return nil
}

// EnsureBridge makes sure name is an up bridge with the MTU, without
// addresses and without multicast snooping (so that multicast reaches
// every port). A device of another type under the name is replaced.
func (d *Devices) EnsureBridge(name string, mtu int) (netlink.Link, error) {
	l, err := d.Find(name, "bridge")
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
		if l, err = d.Created(name, "bridge"); err != nil {
			return nil, err
		}
		// Setting the MTU explicitly pins it: the bridge no longer lowers
		// it to its smallest port's.
		if err := d.h.LinkSetMTU(l, mtu); err != nil {
			return nil, fmt.Errorf("set MTU of %q: %w", name, err)
		}
		d.log.Info("created bridge", "dev", name, "mtu", mtu)
	}
	if br, ok := l.(*netlink.Bridge); ok && (br.MulticastSnooping == nil || *br.MulticastSnooping) {
		if err := d.h.BridgeSetMcastSnoop(l, false); err != nil {
			return nil, fmt.Errorf("turn off multicast snooping on %q: %w", name, err)
		}
	}
	return l, d.Fix(l, mtu)
}
