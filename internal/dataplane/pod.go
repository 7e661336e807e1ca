package dataplane

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

	"switchboard/internal/bandwidth"
	"switchboard/internal/netdev"
	"switchboard/internal/netdev/devname"
)

// PodInterface is one interface of a pod on a Switchboard network.
type PodInterface struct {
	ContainerID string
	NetNS       string // path of the pod's network namespace, e.g. /var/run/netns/cni-…
	IfName      string // interface name inside the pod, e.g. "net1"

	VNI uint32
	MTU int              // 0: the network bridge's MTU; never above it
	MAC net.HardwareAddr // nil: a random locally administered unicast address
	// WANOverhead is the network's (Network.WANOverhead): AddPod uses it
	// when it makes the network's devices before a Set has described the
	// network, so that the network gets the MTU that Set will give it.
	WANOverhead int
	IPs         []netip.Prefix // addresses with their prefix length; may be empty (pure L2)

	// Gateway is reserved: it is validated but nothing is programmed for it
	// (no default route is added).
	Gateway netip.Addr

	// Bandwidth limits the interface in each direction; zero: unlimited.
	Bandwidth bandwidth.Limits
}

// ErrNotConfigured is returned by AddPod when it has to create a network's
// devices before any Set told it the underlay.
var ErrNotConfigured = errors.New("no underlay known yet: call Set first")

// ErrConflict is returned by AddPod when a host interface with the pod's
// name exists but is not paired with the requested interface.
var ErrConflict = errors.New("conflicting interface")

// HostIfName returns the name of the host end of a pod interface: "sbv" and
// 11 hex digits of sha256(containerID + "/" + ifName). It is stable across
// restarts and fits IFNAMSIZ.
func HostIfName(containerID, ifName string) string {
	return devname.Hashed(devname.PrefixPodPort, containerID, ifName)
}

func (p PodInterface) validate() error {
	switch {
	case p.ContainerID == "":
		return invalidf("no container ID")
	case p.NetNS == "":
		return invalidf("no network namespace")
	case len(p.IfName) == 0 || len(p.IfName) >= unix.IFNAMSIZ || p.IfName == "." || p.IfName == ".." ||
		strings.ContainsAny(p.IfName, "/: \t\n"):
		return invalidf("interface name %q is not a valid Linux interface name", p.IfName)
	case p.VNI > MaxVNI:
		return invalidf("VNI %d is above %d", p.VNI, MaxVNI)
	case p.MTU != 0 && p.MTU < minMTU:
		return invalidf("MTU %d is below %d", p.MTU, minMTU)
	case p.Gateway.IsValid() && !unicastIP(p.Gateway):
		return invalidf("gateway %q is not a unicast address", p.Gateway)
	}
	if p.MAC != nil {
		if _, err := unicastMAC(p.MAC); err != nil {
			return err
		}
	}
	if err := validLimits(p.Bandwidth); err != nil {
		return err
	}
	seen := map[netip.Addr]bool{}
	for _, pfx := range p.IPs {
		a := pfx.Addr()
		if !pfx.IsValid() || !unicastIP(a) || a.Is4In6() {
			return invalidf("address %q is not a unicast address with a prefix length", pfx)
		}
		if seen[a] {
			return invalidf("address %q given twice", a)
		}
		seen[a] = true
	}
	return nil
}

// randomMAC returns a random locally administered unicast address.
func randomMAC() netdev.MAC {
	var m netdev.MAC
	_, _ = rand.Read(m[:]) // never fails on Linux
	m[0] = m[0]&^1 | 2
	return m
}

// podNS is an open pod network namespace with a netlink handle in it.
type podNS struct {
	fd netns.NsHandle
	h  *netlink.Handle
}

func openPodNS(path string) (*podNS, error) {
	fd, err := netns.GetFromPath(path)
	if err != nil {
		return nil, fmt.Errorf("open network namespace %q: %w", path, err)
	}
	// Only the route family: a handle for every family (the default) opens
	// three sockets, each entering the namespace and leaving it again.
	h, err := netlink.NewHandleAt(fd, unix.NETLINK_ROUTE)
	if err != nil {
		fd.Close()
		return nil, fmt.Errorf("open netlink in %q: %w", path, err)
	}
	return &podNS{fd: fd, h: h}, nil
}

func (p *podNS) close() {
	p.h.Close()
	p.fd.Close()
}

// AddPod connects a pod interface to its network: it makes sure the
// network's bridge and VXLAN device exist (creating them, if needed, with the
// underlay of the last Set), creates a veth pair whose pod end is p.IfName in
// p.NetNS with p's MAC, MTU and addresses (IPv6 without DAD), brings both
// ends up and enslaves the host end to the bridge. It returns the pod end's
// MAC. On failure it removes whatever it created. An interface that already
// exists with the same identity (host end HostIfName paired with p.IfName in
// p.NetNS) is brought to p's settings and reported as success.
//
// AddPod is PreparePod and PodLink.Finish in one call; a caller that learns
// the addresses later (the agent, from its allocation) calls them apart.
func (d *Dataplane) AddPod(p PodInterface) (net.HardwareAddr, error) {
	l, err := d.PreparePod(p)
	if err != nil {
		return nil, err
	}
	m, err := l.Finish(p.MAC, p.IPs)
	if err != nil {
		return nil, errors.Join(err, l.Remove())
	}
	l.Close()
	return m, nil
}

// preparePod is PreparePod's work on the pod's own devices, without d.mu
// (PreparePod has reserved the name and made sure of the network's bridge
// br). On failure it removes the pair if it made it, and closes the pod's
// namespace.
func (d *Dataplane) preparePod(p PodInterface, br netlink.Link) (*PodLink, error) {
	pns, err := openPodNS(p.NetNS)
	if err != nil {
		return nil, err
	}
	hostName := HostIfName(p.ContainerID, p.IfName)
	host, err := d.dev.Find(hostName, "")
	if err == nil && host != nil {
		var peer netlink.Link
		if peer, err = d.peerOf(host, pns, p.IfName); err == nil {
			err = d.setupLink(host, peer, pns, p, br)
		}
		if err == nil {
			return &PodLink{d: d, p: p, pns: pns, peer: peer}, nil
		}
	}
	if err == nil {
		var peer netlink.Link
		if peer, err = d.createPod(hostName, br, pns, p); err == nil {
			return &PodLink{d: d, p: p, pns: pns, peer: peer, createdPair: true}, nil
		}
		if l, lerr := d.h.LinkByName(hostName); lerr == nil {
			_ = d.h.LinkDel(l)
		}
	}
	pns.close()
	return nil, err
}

// createPod creates the veth pair with its pod end directly in the pod's
// namespace, then configures both ends. It returns the pod end.
func (d *Dataplane) createPod(hostName string, br netlink.Link, pns *podNS, p PodInterface) (netlink.Link, error) {
	mtu, err := podMTU(p, br)
	if err != nil {
		return nil, err
	}
	m := randomMAC()
	if p.MAC != nil {
		m, _ = netdev.MACOf(p.MAC)
	}
	// The host end is a bridge port, never an IP host.
	host, err := d.dev.AddVeth(hostName, mtu, netdev.VethPeer{Name: p.IfName, MAC: m, NS: pns.fd})
	if err != nil {
		return nil, err
	}
	peer, err := pns.h.LinkByName(p.IfName)
	if err != nil {
		return nil, fmt.Errorf("find %q in the pod: %w", p.IfName, err)
	}
	return peer, d.configureLink(host, peer, pns, p, br, true)
}

// podMTU is p's MTU: p.MTU, or the bridge's, never above the bridge's.
func podMTU(p PodInterface, br netlink.Link) (int, error) {
	switch {
	case p.MTU == 0:
		return br.Attrs().MTU, nil
	case p.MTU > br.Attrs().MTU:
		return 0, invalidf("MTU %d is above the network's %d", p.MTU, br.Attrs().MTU)
	}
	return p.MTU, nil
}

// setupLink brings an existing pair to p's settings but the addresses:
// bridge port, MTU, MAC and up state, changing only what differs.
func (d *Dataplane) setupLink(host, peer netlink.Link, pns *podNS, p PodInterface, br netlink.Link) error {
	return d.configureLink(host, peer, pns, p, br, false)
}

// configureLink is setupLink; fresh says the pair was just made, so it has
// no shaping yet: unlimited, there is nothing to read or change (the two
// qdisc dumps are spared on every ADD of an unshaped pod).
func (d *Dataplane) configureLink(host, peer netlink.Link, pns *podNS, p PodInterface, br netlink.Link, fresh bool) error {
	hostName := host.Attrs().Name
	mtu, err := podMTU(p, br)
	if err != nil {
		return err
	}
	if err := d.dev.Enslave(host, br); err != nil {
		return err
	}
	for _, l := range []struct {
		h    *netlink.Handle
		link netlink.Link
	}{{d.h, host}, {pns.h, peer}} {
		if l.link.Attrs().MTU != mtu {
			if err := l.h.LinkSetMTU(l.link, mtu); err != nil {
				return fmt.Errorf("set MTU of %q: %w", l.link.Attrs().Name, err)
			}
			l.link.Attrs().MTU = mtu // the default burst of a shape follows it
		}
	}
	if _, err := setMAC(pns.h, peer, p.MAC); err != nil {
		return err
	}
	if peer.Attrs().Flags&net.FlagUp == 0 {
		if err := pns.h.LinkSetUp(peer); err != nil {
			return fmt.Errorf("set %q up: %w", p.IfName, err)
		}
	}
	if host.Attrs().Flags&net.FlagUp == 0 {
		if err := d.h.LinkSetUp(host); err != nil {
			return fmt.Errorf("set %q up: %w", hostName, err)
		}
	}
	if fresh && p.Bandwidth.IsZero() {
		return nil
	}
	return d.shape(host, peer, pns, p.Bandwidth)
}

// setMAC gives link the MAC want unless it has it already or want is nil,
// and returns the MAC link has then.
func setMAC(h *netlink.Handle, link netlink.Link, want net.HardwareAddr) (net.HardwareAddr, error) {
	m, _ := netdev.MACOf(want)
	if want == nil || m.Equal(link.Attrs().HardwareAddr) {
		return link.Attrs().HardwareAddr, nil
	}
	if err := h.LinkSetHardwareAddr(link, m.HW()); err != nil {
		return nil, fmt.Errorf("set MAC of %q: %w", link.Attrs().Name, err)
	}
	link.Attrs().HardwareAddr = m.HW()
	return m.HW(), nil
}

// addAddrs adds the addresses to link; one it holds already is fine. IPv6
// ones skip duplicate address detection, since the IPAM already guarantees
// uniqueness. It lists nothing first: an address present costs one refused
// add, where a listing would cost a dump on every call.
func addAddrs(h *netlink.Handle, link netlink.Link, want []netip.Prefix) error {
	for _, pfx := range want {
		a := &netlink.Addr{IPNet: &net.IPNet{IP: pfx.Addr().AsSlice(), Mask: net.CIDRMask(pfx.Bits(), pfx.Addr().BitLen())}}
		if pfx.Addr().Is6() {
			a.Flags = unix.IFA_F_NODAD
		}
		if err := h.AddrAdd(link, a); err != nil && !errors.Is(err, unix.EEXIST) {
			return fmt.Errorf("add address %q to %q: %w", pfx, link.Attrs().Name, err)
		}
	}
	return nil
}

func prefixOf(n *net.IPNet) netip.Prefix {
	a, _ := netip.AddrFromSlice(n.IP)
	ones, _ := n.Mask.Size()
	return netip.PrefixFrom(a.Unmap(), ones)
}
