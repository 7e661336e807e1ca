package lab

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/containernetworking/plugins/pkg/ns"
	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
)

// The lab's networks live only inside namespaces it creates: the host
// namespace never gets an address, route or firewall rule from it.

func netnsPath(name string) string { return filepath.Join("/run/netns", name) }

// addNetNS creates a named network namespace with loopback up and records
// it. A namespace that already exists is an error: it belongs to someone else.
func (l *lab) addNetNS(name string) error {
	if _, err := os.Stat(netnsPath(name)); err == nil {
		return fmt.Errorf("network namespace %q already exists: is another lab named %q up? (switchboard lab down --name %s)", name, l.topo.Name, l.topo.Name)
	}
	if out, err := exec.Command("ip", "netns", "add", name).CombinedOutput(); err != nil {
		return fmt.Errorf("create network namespace %q: %s: %w", name, strings.TrimSpace(string(out)), err)
	}
	if err := l.state.update(func(r *record) { r.NetNS = append(r.NetNS, name) }); err != nil {
		return err
	}
	return withNetNS(name, func(h *netlink.Handle) error {
		lo, err := h.LinkByName("lo")
		if err != nil {
			return err
		}
		return h.LinkSetUp(lo)
	})
}

// delNetNS removes a named network namespace; one that is gone is fine.
func delNetNS(name string) error {
	if _, err := os.Stat(netnsPath(name)); errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if out, err := exec.Command("ip", "netns", "delete", name).CombinedOutput(); err != nil {
		return fmt.Errorf("delete network namespace %q: %s: %w", name, strings.TrimSpace(string(out)), err)
	}
	return nil
}

// withNetNS runs f with a netlink handle bound to the named namespace.
func withNetNS(name string, f func(h *netlink.Handle) error) error {
	nsh, err := netns.GetFromName(name)
	if err != nil {
		return fmt.Errorf("open network namespace %q: %w", name, err)
	}
	defer nsh.Close()
	h, err := netlink.NewHandleAt(nsh)
	if err != nil {
		return fmt.Errorf("netlink in namespace %q: %w", name, err)
	}
	defer h.Close()
	if err := f(h); err != nil {
		return fmt.Errorf("in network namespace %q: %w", name, err)
	}
	return nil
}

// addBridge creates an up bridge in the namespace, with addr if valid.
func addBridge(nsName, name string, addr netip.Prefix) error {
	return withNetNS(nsName, func(h *netlink.Handle) error {
		br := &netlink.Bridge{LinkAttrs: netlink.LinkAttrs{Name: name}}
		if err := h.LinkAdd(br); err != nil {
			return fmt.Errorf("add bridge %q: %w", name, err)
		}
		if addr.IsValid() {
			if err := h.AddrAdd(br, &netlink.Addr{IPNet: ipNet(addr)}); err != nil {
				return fmt.Errorf("address bridge %q: %w", name, err)
			}
		}
		return h.LinkSetUp(br)
	})
}

// link is one end of a veth pair.
type link struct {
	netNS  string
	name   string
	addr   netip.Prefix // optional
	master string       // optional bridge to enslave to
}

// addVeth creates a veth pair between two namespaces and brings both ends up.
func addVeth(a, b link) error {
	peerNS, err := netns.GetFromName(b.netNS)
	if err != nil {
		return fmt.Errorf("open network namespace %q: %w", b.netNS, err)
	}
	defer peerNS.Close()
	err = withNetNS(a.netNS, func(h *netlink.Handle) error {
		v := &netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: a.name}, PeerName: b.name, PeerNamespace: netlink.NsFd(peerNS)}
		if err := h.LinkAdd(v); err != nil {
			return fmt.Errorf("add veth %s<->%s/%s: %w", a.name, b.netNS, b.name, err)
		}
		return nil
	})
	if err != nil {
		return err
	}
	for _, end := range []link{a, b} {
		err := withNetNS(end.netNS, func(h *netlink.Handle) error {
			l, err := h.LinkByName(end.name)
			if err != nil {
				return err
			}
			if end.master != "" {
				m, err := h.LinkByName(end.master)
				if err != nil {
					return err
				}
				if err := h.LinkSetMaster(l, m); err != nil {
					return fmt.Errorf("attach %s to %s: %w", end.name, end.master, err)
				}
			}
			if end.addr.IsValid() {
				if err := h.AddrAdd(l, &netlink.Addr{IPNet: ipNet(end.addr)}); err != nil {
					return fmt.Errorf("address %s: %w", end.name, err)
				}
			}
			return h.LinkSetUp(l)
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// addRoute adds (or replaces) a route in the namespace; an invalid dst
// means the default route.
func addRoute(nsName string, dst netip.Prefix, via netip.Addr) error {
	return withNetNS(nsName, func(h *netlink.Handle) error {
		r := &netlink.Route{Gw: net.IP(via.AsSlice())}
		if dst.IsValid() {
			r.Dst = ipNet(dst)
		}
		if err := h.RouteReplace(r); err != nil {
			return fmt.Errorf("route %v via %v: %w", dst, via, err)
		}
		return nil
	})
}

// setSysctl writes a per-namespace sysctl (e.g. net/ipv4/ip_forward) inside nsName.
func setSysctl(nsName, key, value string) error {
	return ns.WithNetNSPath(netnsPath(nsName), func(ns.NetNS) error {
		p := filepath.Join("/proc/sys", key)
		if err := os.WriteFile(p, []byte(value), 0o644); err != nil {
			return fmt.Errorf("set %s=%s in %q: %w", key, value, nsName, err)
		}
		return nil
	})
}

func ipNet(p netip.Prefix) *net.IPNet {
	return &net.IPNet{IP: p.Addr().AsSlice(), Mask: net.CIDRMask(p.Bits(), p.Addr().BitLen())}
}
