package clusternet

import (
	"crypto/rand"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"

	"switchboard/internal/netdev"
	"switchboard/internal/netdev/devname"
)

// routeProtocol marks the routes to other nodes' pod CIDRs as ours, so
// that syncRoutes removes stale ones and touches no other route.
const routeProtocol = netlink.RouteProtocol(83)

// localPod is a pod interface on this node as the kernel records it: the
// host end's alias is "IP MEMBERSHIP|NAMESPACE/NAME".
type localPod struct {
	hostIf    string
	ip        netip.Addr
	network   string // Membership.Network at ADD
	open      bool   // Membership.ServicesOpen at ADD
	namespace string
	name      string
}

func (p localPod) alias() string {
	open := "0"
	if p.open {
		open = "1"
	}
	return fmt.Sprintf("%s|%s|%s|%s/%s", p.ip, open, p.network, p.namespace, p.name)
}

func parseAlias(hostIf, s string) (localPod, bool) {
	f := strings.SplitN(s, "|", 4)
	if len(f) != 4 {
		return localPod{}, false
	}
	ip, err := netip.ParseAddr(f[0])
	if err != nil {
		return localPod{}, false
	}
	ns, name, _ := strings.Cut(f[3], "/")
	return localPod{hostIf: hostIf, ip: ip, open: f[1] == "1", network: f[2], namespace: ns, name: name}, true
}

// listPods returns the node's pod interfaces of the primary network.
func listPods(h *netlink.Handle) ([]localPod, error) {
	links, err := h.LinkList()
	if err != nil {
		return nil, fmt.Errorf("list links: %w", err)
	}
	var out []localPod
	for _, l := range links {
		name := l.Attrs().Name
		if !strings.HasPrefix(name, devname.PrefixPrimaryPort) {
			continue
		}
		if p, ok := parseAlias(name, l.Attrs().Alias); ok {
			out = append(out, p)
		}
	}
	return out, nil
}

// podLink is what addPod makes.
type podLink struct {
	hostIf, ifName, netNS string
	mtu                   int
	gw                    netip.Addr
	pod                   localPod
}

// addPod creates the veth pair (pod end directly in the pod's namespace),
// gives the pod its address, a route to the gateway and the default route
// through it, gives the host end the gateway's address, the alias that
// records the pod, and the route to the pod. It returns the pod end's MAC.
// On failure it deletes the pair.
func addPod(dev *netdev.Devices, h *netlink.Handle, p podLink) (mac net.HardwareAddr, err error) {
	fd, err := netns.GetFromPath(p.netNS)
	if err != nil {
		return nil, fmt.Errorf("open network namespace %q: %w", p.netNS, err)
	}
	defer fd.Close()
	ph, err := netlink.NewHandleAt(fd, unix.NETLINK_ROUTE)
	if err != nil {
		return nil, fmt.Errorf("open netlink in %q: %w", p.netNS, err)
	}
	defer ph.Close()
	var m netdev.MAC
	randomize(&m)
	host, err := dev.AddVeth(p.hostIf, p.mtu, netdev.VethPeer{Name: p.ifName, MAC: m, NS: fd})
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			_, _ = dev.Delete(p.hostIf)
		}
	}()
	peer, err := ph.LinkByName(p.ifName)
	if err != nil {
		return nil, fmt.Errorf("find %q in the pod: %w", p.ifName, err)
	}
	host32 := func(a netip.Addr) *net.IPNet { return &net.IPNet{IP: a.AsSlice(), Mask: net.CIDRMask(32, 32)} }
	steps := []struct {
		what string
		do   func() error
	}{
		{"set the pod end up", func() error { return ph.LinkSetUp(peer) }},
		{"address the pod end", func() error { return ph.AddrAdd(peer, &netlink.Addr{IPNet: host32(p.pod.ip)}) }},
		{"route to the gateway in the pod", func() error {
			return ph.RouteAdd(&netlink.Route{LinkIndex: peer.Attrs().Index, Dst: host32(p.gw), Scope: netlink.SCOPE_LINK})
		}},
		{"default route in the pod", func() error {
			return ph.RouteAdd(&netlink.Route{LinkIndex: peer.Attrs().Index, Gw: p.gw.AsSlice()})
		}},
		{"record the pod on the host end", func() error { return h.LinkSetAlias(host, p.pod.alias()) }},
		{"address the host end with the gateway", func() error { return h.AddrAdd(host, &netlink.Addr{IPNet: host32(p.gw)}) }},
		{"set the host end up", func() error { return h.LinkSetUp(host) }},
		{"route to the pod", func() error {
			return h.RouteReplace(&netlink.Route{LinkIndex: host.Attrs().Index, Dst: host32(p.pod.ip), Scope: netlink.SCOPE_LINK})
		}},
	}
	for _, s := range steps {
		if err := s.do(); err != nil && !errors.Is(err, unix.EEXIST) {
			return nil, fmt.Errorf("%s (%s, %s): %w", s.what, p.hostIf, p.pod.ip, err)
		}
	}
	return m.HW(), nil
}

// randomize makes m a random locally administered unicast address.
func randomize(m *netdev.MAC) {
	b := make([]byte, 6)
	_, _ = rand.Read(b) // never fails on Linux
	copy(m[:], b)
	m[0] = m[0]&^1 | 2
}

// syncRoutes makes the node's routes of our protocol exactly want: pod
// CIDR → the node that has it.
func syncRoutes(h *netlink.Handle, want map[netip.Prefix]netip.Addr) error {
	have, err := h.RouteListFiltered(netlink.FAMILY_V4, &netlink.Route{Protocol: routeProtocol}, netlink.RT_FILTER_PROTOCOL)
	if err != nil {
		return fmt.Errorf("list routes: %w", err)
	}
	for dst, via := range want {
		r := &netlink.Route{Dst: &net.IPNet{IP: dst.Addr().AsSlice(), Mask: net.CIDRMask(dst.Bits(), 32)}, Gw: via.AsSlice(), Protocol: routeProtocol}
		if err := h.RouteReplace(r); err != nil {
			return fmt.Errorf("route %s via %s: %w", dst, via, err)
		}
	}
	for _, r := range have {
		if r.Dst == nil {
			continue
		}
		ones, _ := r.Dst.Mask.Size()
		a, _ := netip.AddrFromSlice(r.Dst.IP)
		if _, ok := want[netip.PrefixFrom(a.Unmap(), ones)]; ok {
			continue
		}
		if err := h.RouteDel(&r); err != nil && !netdev.IsNotFound(err) {
			return fmt.Errorf("delete stale route %s: %w", r.Dst, err)
		}
	}
	return nil
}
