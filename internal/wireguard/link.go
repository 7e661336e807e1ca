package wireguard

import (
	"fmt"
	"net/netip"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// ensureLink makes the interface name have MTU mtu, exactly the address
// addr (link-local addresses are left alone) and be up, changing only what
// differs.
func ensureLink(h *netlink.Handle, name string, mtu int, addr netip.Prefix) error {
	l, err := h.LinkByName(name)
	if err != nil {
		return fmt.Errorf("find interface %q: %w", name, err)
	}
	if l.Attrs().MTU != mtu {
		if err := h.LinkSetMTU(l, mtu); err != nil {
			return fmt.Errorf("set MTU of %q to %d: %w", name, mtu, err)
		}
	}
	have, err := h.AddrList(l, netlink.FAMILY_ALL)
	if err != nil {
		return fmt.Errorf("list addresses of %q: %w", name, err)
	}
	found := false
	for _, a := range have {
		p, ok := netipPrefix(a)
		switch {
		case ok && p == addr:
			found = true
		case ok && p.Addr().IsLinkLocalUnicast():
		default:
			if err := h.AddrDel(l, &a); err != nil {
				return fmt.Errorf("remove address %s from %q: %w", a.IPNet, name, err)
			}
		}
	}
	if !found {
		a := &netlink.Addr{IPNet: ipNet(addr), Flags: unix.IFA_F_NODAD}
		if err := h.AddrAdd(l, a); err != nil {
			return fmt.Errorf("add address %s to %q: %w", addr, name, err)
		}
	}
	if l.Attrs().Flags&unix.IFF_UP == 0 {
		if err := h.LinkSetUp(l); err != nil {
			return fmt.Errorf("bring %q up: %w", name, err)
		}
	}
	return nil
}

func netipPrefix(a netlink.Addr) (netip.Prefix, bool) {
	ip, ok := netip.AddrFromSlice(a.IP)
	if !ok {
		return netip.Prefix{}, false
	}
	if a.IP.To4() != nil {
		ip = ip.Unmap()
	}
	ones, _ := a.Mask.Size()
	return netip.PrefixFrom(ip, ones), true
}
