package edgectl

import (
	"fmt"
	"net/netip"

	"github.com/vishvananda/netlink"
)

// FindWAN completes the edge's WAN side from the node's interfaces: given
// the address, it finds the device holding it; given only the device, it
// takes the device's one global unicast address (the gateway node's WAN
// link, e.g. the lab's wan0, holds exactly one).
func FindWAN(addr netip.Addr, device string) (netip.Addr, string, error) {
	if addr.IsValid() {
		addrs, err := netlink.AddrList(nil, netlink.FAMILY_ALL)
		if err != nil {
			return addr, "", fmt.Errorf("list addresses: %w", err)
		}
		for _, a := range addrs {
			if ip, ok := netip.AddrFromSlice(a.IP); ok && ip.Unmap() == addr.Unmap() {
				l, err := netlink.LinkByIndex(a.LinkIndex)
				if err != nil {
					return addr, "", fmt.Errorf("find the device holding %s: %w", addr, err)
				}
				if device != "" && l.Attrs().Name != device {
					return addr, "", fmt.Errorf("WAN address %s is on %q, not on --wan-device %q: fix one of them", addr, l.Attrs().Name, device)
				}
				return addr, l.Attrs().Name, nil
			}
		}
		return addr, "", fmt.Errorf("no interface holds WAN address %s: is --wan-ip the gateway's WAN address?", addr)
	}
	if device == "" {
		return addr, "", fmt.Errorf("set --wan-ip (the gateway's WAN address) or --wan-device (the interface holding it)")
	}
	l, err := netlink.LinkByName(device)
	if err != nil {
		return addr, "", fmt.Errorf("find WAN device %q: %w", device, err)
	}
	addrs, err := netlink.AddrList(l, netlink.FAMILY_ALL)
	if err != nil {
		return addr, "", fmt.Errorf("list addresses of %q: %w", device, err)
	}
	var found []netip.Addr
	for _, a := range addrs {
		if ip, ok := netip.AddrFromSlice(a.IP); ok && ip.Unmap().IsGlobalUnicast() {
			found = append(found, ip.Unmap())
		}
	}
	if len(found) != 1 {
		return addr, "", fmt.Errorf("WAN device %q has %d global unicast addresses %v, want one: set --wan-ip", device, len(found), found)
	}
	return found[0], device, nil
}
