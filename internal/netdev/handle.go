package netdev

import (
	"fmt"
	"net/netip"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// OpenHandle opens a netlink route socket in the network namespace at path
// (e.g. /run/netns/gw), or in the caller's own when path is "". The
// namespace is entered only for the instant of opening the socket, on a
// locked thread; the socket stays in it. The caller owns the handle and
// closes it.
func OpenHandle(path string) (*netlink.Handle, error) {
	if path == "" {
		h, err := netlink.NewHandle(unix.NETLINK_ROUTE)
		if err != nil {
			return nil, fmt.Errorf("open netlink: %w", err)
		}
		return h, nil
	}
	nsh, err := netns.GetFromPath(path)
	if err != nil {
		return nil, fmt.Errorf("open network namespace %q: %w", path, err)
	}
	defer nsh.Close()
	// Only the route family: a handle for every family (the default) opens
	// three sockets, each entering the namespace and leaving it again.
	h, err := netlink.NewHandleAt(nsh, unix.NETLINK_ROUTE)
	if err != nil {
		return nil, fmt.Errorf("open netlink in %q: %w", path, err)
	}
	return h, nil
}

// Delete deletes the device called name and reports whether it did; a
// device that does not exist is success (false).
func (d *Devices) Delete(name string) (deleted bool, err error) {
	l, err := d.h.LinkByName(name)
	if IsNotFound(err) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("find %q: %w", name, err)
	}
	if err := d.h.LinkDel(l); err != nil {
		if IsNotFound(err) {
			return false, nil
		}
		return false, fmt.Errorf("delete %q: %w", name, err)
	}
	return true, nil
}

// LinkWithAddr returns the link of h's namespace that holds addr (the
// node's underlay interface, found by the node's InternalIP); h nil is the
// caller's own namespace.
func LinkWithAddr(h *netlink.Handle, addr netip.Addr) (netlink.Link, error) {
	if h == nil {
		h = &netlink.Handle{}
	}
	addrs, err := h.AddrList(nil, netlink.FAMILY_ALL)
	if err != nil {
		return nil, fmt.Errorf("list addresses: %w", err)
	}
	for _, a := range addrs {
		if ip, ok := netip.AddrFromSlice(a.IP); ok && ip.Unmap() == addr {
			l, err := h.LinkByIndex(a.LinkIndex)
			if err != nil {
				return nil, fmt.Errorf("find the link holding %s: %w", addr, err)
			}
			return l, nil
		}
	}
	return nil, fmt.Errorf("no interface holds %s: is NODE_IP the node's InternalIP?", addr)
}
