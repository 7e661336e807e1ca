package dataplane

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strings"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"switchboard/internal/netdev"
	"switchboard/internal/netdev/devname"
)

// ErrMismatch is returned by CheckPod when the kernel differs from the
// PodInterface; the error text says what differs.
var ErrMismatch = errors.New("pod interface differs")

// peerOf returns the pod end of host if it is ifName in the pod's namespace,
// and ErrConflict otherwise.
func (d *Dataplane) peerOf(host netlink.Link, pns *podNS, ifName string) (netlink.Link, error) {
	hostName := host.Attrs().Name
	if host.Type() != "veth" {
		return nil, fmt.Errorf("%w: %q is a %s, not a veth", ErrConflict, hostName, host.Type())
	}
	peer, err := pns.h.LinkByName(ifName)
	if netdev.IsNotFound(err) {
		return nil, fmt.Errorf("%w: %q exists but %q is not in the pod's namespace", ErrConflict, hostName, ifName)
	}
	if err != nil {
		return nil, fmt.Errorf("find %q in the pod: %w", ifName, err)
	}
	if !d.paired(host, peer, pns) {
		return nil, fmt.Errorf("%w: %q in the pod is not the peer of %q", ErrConflict, ifName, hostName)
	}
	return peer, nil
}

// paired reports whether host (in the node) and peer (in the pod) are the
// two ends of one veth pair.
func (d *Dataplane) paired(host, peer netlink.Link, pns *podNS) bool {
	if peer.Type() != "veth" ||
		peer.Attrs().ParentIndex != host.Attrs().Index || host.Attrs().ParentIndex != peer.Attrs().Index {
		return false
	}
	id, err := d.h.GetNetNsIdByFd(int(pns.fd))
	return err != nil || id < 0 || host.Attrs().NetNsID < 0 || id == host.Attrs().NetNsID
}

// networkForPod returns the bridge of network vni, creating the network's
// devices with the last Set's underlay if they are missing; created says
// whether it made the bridge.
func (d *Dataplane) networkForPod(pod PodInterface) (br netlink.Link, created bool, err error) {
	vni := pod.VNI
	br, ok, err := d.networkReady(vni)
	if err != nil || ok {
		return br, false, err
	}
	if d.cfg == nil {
		return nil, false, ErrNotConfigured
	}
	ul, err := d.h.LinkByName(d.cfg.Underlay)
	if err != nil {
		return nil, false, fmt.Errorf("find underlay %q: %w", d.cfg.Underlay, err)
	}
	n, known := d.cfg.Networks[vni]
	if !known {
		// Set has not described the network yet: size it as Set will.
		n = Network{MTU: pod.MTU, WANOverhead: pod.WANOverhead}
	}
	p, err := planNetwork(vni, n, ul.Attrs().MTU, d.cfg.LocalIP)
	if err != nil {
		return nil, false, fmt.Errorf("plan network %d: %w", vni, err)
	}
	created = br == nil
	if err := d.ensureNetwork(p, ul, d.cfg.LocalIP); err != nil {
		if created {
			_ = d.removeUnused(vni)
		}
		return nil, false, err
	}
	if br, err = d.h.LinkByName(bridgeName(vni)); err != nil {
		return nil, false, fmt.Errorf("find %q: %w", bridgeName(vni), err)
	}
	return br, created, nil
}

// networkReady returns network vni's bridge and true if the network's
// devices are in place: the bridge, with the VXLAN device as its port. It
// changes nothing and needs no lock.
func (d *Dataplane) networkReady(vni uint32) (netlink.Link, bool, error) {
	br, err := d.dev.Find(bridgeName(vni), "")
	if err != nil {
		return nil, false, err
	}
	vx, err := d.dev.Find(vxlanName(vni), "")
	if err != nil {
		return nil, false, err
	}
	if br != nil && br.Type() == "bridge" && vx != nil && vx.Attrs().MasterIndex == br.Attrs().Index {
		return br, true, nil
	}
	return br, false, nil
}

// DelPod removes a pod interface by deleting its host end, which removes the
// pair, and returns once it is gone (also when DetachPod had started its
// deletion). It is idempotent: a missing interface or namespace is success.
// The host end's name alone identifies the pair, so netNS may be gone; it
// is only logged.
func (d *Dataplane) DelPod(containerID, netNS, ifName string) error {
	hostName := HostIfName(containerID, ifName)
	done, err := d.reserve(hostName, d.deleting)
	if err != nil {
		return err
	}
	defer d.endDeleting(hostName, done)
	d.podWork <- struct{}{}
	deleted, err := d.dev.Delete(hostName)
	<-d.podWork
	if err != nil || !deleted {
		return err
	}
	d.log.Info("deleted pod interface", "pod", containerID, "ifname", ifName, "netns", netNS, "dev", hostName)
	return nil
}

// LocalPorts returns the sorted names of the host-side pod ports on network
// vni's bridge; none if the bridge does not exist.
func (d *Dataplane) LocalPorts(vni uint32) ([]string, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return nil, errClosed
	}
	br, err := d.dev.Find(bridgeName(vni), "")
	if err != nil || br == nil {
		return nil, err
	}
	links, err := d.h.LinkList()
	if err != nil {
		return nil, fmt.Errorf("list links: %w", err)
	}
	return d.live(ports(br, links)), nil
}

// CheckPod reports whether a pod interface is as AddPod would have left it:
// p.IfName exists in p.NetNS, is up, has p's MAC (if set), MTU and every
// address of p.IPs and no other global one, and its peer is an up port of
// network p.VNI's bridge. Differences come back wrapped in ErrMismatch.
func (d *Dataplane) CheckPod(p PodInterface) error {
	if err := p.validate(); err != nil {
		return fmt.Errorf("check pod interface %q: %w", p.IfName, err)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return errClosed
	}
	pns, err := openPodNS(p.NetNS)
	if err != nil {
		return fmt.Errorf("check pod interface %q: %w", p.IfName, err)
	}
	defer pns.close()
	diffs, err := d.checkPod(pns, p)
	if err != nil {
		return fmt.Errorf("check pod interface %q in %q: %w", p.IfName, p.NetNS, err)
	}
	if len(diffs) > 0 {
		return fmt.Errorf("check pod interface %q in %q: %w: %w", p.IfName, p.NetNS, ErrMismatch, errors.Join(diffs...))
	}
	return nil
}

func (d *Dataplane) checkPod(pns *podNS, p PodInterface) ([]error, error) {
	hostName := HostIfName(p.ContainerID, p.IfName)
	peer, err := pns.h.LinkByName(p.IfName)
	if netdev.IsNotFound(err) {
		return []error{fmt.Errorf("%q does not exist in the pod", p.IfName)}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("find %q in the pod: %w", p.IfName, err)
	}
	var diffs []error
	differs := func(format string, args ...any) { diffs = append(diffs, fmt.Errorf(format, args...)) }
	mtu := p.MTU
	host, err := d.dev.Find(hostName, "")
	switch {
	case err != nil:
		return nil, err
	case host == nil:
		differs("host end %q does not exist", hostName)
	case !d.paired(host, peer, pns):
		differs("host end %q is not the peer of %q", hostName, p.IfName)
	default:
		br, err := d.dev.Find(bridgeName(p.VNI), "")
		if err != nil {
			return nil, err
		}
		if br == nil {
			differs("bridge %q does not exist", bridgeName(p.VNI))
		} else {
			if host.Attrs().MasterIndex != br.Attrs().Index {
				differs("host end %q is not a port of %q (master index %d)", hostName, br.Attrs().Name, host.Attrs().MasterIndex)
			}
			if mtu == 0 {
				mtu = br.Attrs().MTU
			}
		}
		if host.Attrs().Flags&net.FlagUp == 0 {
			differs("host end %q is down", hostName)
		}
		if err := d.checkShape(host, peer, pns, p.Bandwidth, differs); err != nil {
			return nil, err
		}
	}
	if peer.Attrs().Flags&net.FlagUp == 0 {
		differs("%q is down", p.IfName)
	}
	if m, _ := netdev.MACOf(p.MAC); p.MAC != nil && !m.Equal(peer.Attrs().HardwareAddr) {
		differs("%q has MAC %s, want %s", p.IfName, peer.Attrs().HardwareAddr, p.MAC)
	}
	if mtu != 0 && peer.Attrs().MTU != mtu {
		differs("%q has MTU %d, want %d", p.IfName, peer.Attrs().MTU, mtu)
	}
	addrs, err := pns.h.AddrList(peer, netlink.FAMILY_ALL)
	if err != nil {
		return nil, fmt.Errorf("list addresses of %q: %w", p.IfName, err)
	}
	have := map[netip.Prefix]bool{}
	for _, a := range addrs {
		pfx := prefixOf(a.IPNet)
		have[pfx] = true
		if a.Scope == unix.RT_SCOPE_UNIVERSE && !slices.Contains(p.IPs, pfx) {
			differs("%q has unexpected address %s", p.IfName, pfx)
		}
	}
	for _, pfx := range p.IPs {
		if !have[pfx] {
			differs("%q lacks address %s", p.IfName, pfx)
		}
	}
	return diffs, nil
}

// RemoveOrphans deletes host-side pod interfaces that no attachment
// accounts for: those an ADD made before its agent died, or whose DEL never
// came. It lists the interfaces first and only then calls keep for the
// names that must stay, so an interface made after the listing is never a
// candidate; keep must account for every one made before it, including
// those being made whose attachment does not exist yet (the agent counts
// its ADDs in flight). It returns the names it deleted.
func (d *Dataplane) RemoveOrphans(keep func() (map[string]bool, error)) ([]string, error) {
	d.mu.Lock()
	if d.closed {
		d.mu.Unlock()
		return nil, errClosed
	}
	links, err := d.h.LinkList()
	d.mu.Unlock()
	if err != nil {
		return nil, fmt.Errorf("list links: %w", err)
	}
	var candidates []string
	for _, l := range links {
		if n := l.Attrs().Name; isPodPort(n) {
			candidates = append(candidates, n)
		}
	}
	candidates = slices.DeleteFunc(d.live(candidates), d.isAdding) // being deleted or made
	if len(candidates) == 0 {
		return nil, nil
	}
	want, err := keep()
	if err != nil {
		return nil, err
	}
	var removed []string
	for _, n := range candidates {
		if want[n] {
			continue
		}
		// An ADD of the name since the listing (PreparePod works without
		// d.mu) has it reserved: it is not an orphan then.
		done, ok, err := d.tryReserve(n)
		if err != nil {
			return removed, err
		}
		if !ok {
			continue
		}
		deleted, err := d.dev.Delete(n)
		d.endDeleting(n, done)
		if err != nil {
			return removed, fmt.Errorf("remove orphan: %w", err)
		}
		if !deleted {
			continue
		}
		d.log.Info("deleted orphan pod interface", "dev", n)
		removed = append(removed, n)
	}
	return removed, nil
}

// isPodPort reports whether a link name is a host end of a pod interface.
func isPodPort(name string) bool {
	return strings.HasPrefix(name, devname.PrefixPodPort) && !strings.HasPrefix(name, devname.PrefixVXLAN)
}

// PodPorts returns the names of every host-side pod interface on the node,
// but those being deleted (DetachPod).
func (d *Dataplane) PodPorts() (map[string]bool, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return nil, errClosed
	}
	links, err := d.h.LinkList()
	if err != nil {
		return nil, fmt.Errorf("list links: %w", err)
	}
	out := map[string]bool{}
	for _, l := range links {
		if n := l.Attrs().Name; isPodPort(n) && !d.isDeleting(n) {
			out[n] = true
		}
	}
	return out, nil
}
