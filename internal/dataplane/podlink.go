package dataplane

import (
	"fmt"
	"net"
	"net/netip"

	"github.com/vishvananda/netlink"

	"switchboard/internal/netdev"
)

// A pod interface is made in two steps so that a caller can make the link
// while it is still choosing the addresses: PreparePod does all the kernel
// work that needs no address (the network's devices, the veth pair, MTU,
// MAC, bridge port, up state) and PodLink.Finish then only adds the
// addresses, in the pod's namespace. AddPod does both at once.

// PodLink is a pod interface that PreparePod connected to its network,
// without addresses yet. It keeps the pod's network namespace open until
// Finish is done with it: call Close, or Remove to undo PreparePod. Its
// methods are not safe for concurrent use with each other.
type PodLink struct {
	d           *Dataplane
	p           PodInterface
	pns         *podNS // nil once closed
	peer        netlink.Link
	createdPair bool // PreparePod made the veth pair
	createdNet  bool // PreparePod made the network's devices for this pod
}

// PreparePod does AddPod's work but the addresses: it makes sure the
// network's devices exist, creates (or, with the same identity, finds and
// converges) the veth pair with p's MTU and MAC (random if p.MAC is nil),
// enslaves the host end to the bridge and brings both ends up. p.IPs are
// validated but not added: Finish adds them. On failure it removes whatever
// it created. The caller owns the returned PodLink and must Close it or
// Remove it.
func (d *Dataplane) PreparePod(p PodInterface) (*PodLink, error) {
	if err := p.validate(); err != nil {
		return nil, fmt.Errorf("add pod interface %q: %w", p.IfName, err)
	}
	hostName := HostIfName(p.ContainerID, p.IfName)
	// A pair of the same name being deleted (DetachPod) or made is waited
	// for; then the name is this call's, and Set keeps the network while
	// the pod is made (d.addingTo).
	done, err := d.reserve(hostName, d.adding)
	if err != nil {
		return nil, err
	}
	d.podMu.Lock()
	if d.addingTo[p.VNI] == nil {
		d.addingTo[p.VNI] = map[string]bool{}
	}
	d.addingTo[p.VNI][hostName] = true
	d.podMu.Unlock()

	// Neither d.mu nor podMu is held from here on when the network's
	// devices exist (every ADD but a network's first on the node): many
	// ADDs at once, and Set, do not wait for each other's netlink round
	// trips, only for the kernel's.
	d.podWork <- struct{}{}
	br, createdNet, err := d.bridgeFor(p)
	var l *PodLink
	if err == nil {
		l, err = d.preparePod(p, br)
	}
	<-d.podWork

	d.podMu.Lock()
	delete(d.adding, hostName)
	delete(d.addingTo[p.VNI], hostName)
	if len(d.addingTo[p.VNI]) == 0 {
		delete(d.addingTo, p.VNI)
	}
	if err == nil {
		d.joined[p.VNI] = append(d.joined[p.VNI], hostName)
	}
	d.podMu.Unlock()
	if err != nil && createdNet {
		d.mu.Lock()
		if !d.closed && !d.wanted(p.VNI) {
			_ = d.removeUnused(p.VNI)
		}
		d.mu.Unlock()
	}
	close(done)
	d.pending.Done()
	if err != nil {
		return nil, fmt.Errorf("add pod interface %q in %q: %w", p.IfName, p.NetNS, err)
	}
	l.createdNet = createdNet
	return l, nil
}

// bridgeFor returns network p.VNI's bridge: without d.mu when the
// network's devices are in place (Set cannot remove them meanwhile: the
// caller has entered the pod in d.addingTo, which removeNetwork reads under
// podMu while it deletes), else under d.mu, making them (networkForPod).
func (d *Dataplane) bridgeFor(p PodInterface) (br netlink.Link, created bool, err error) {
	if br, ok, err := d.networkReady(p.VNI); err != nil || ok {
		return br, false, err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return nil, false, errClosed
	}
	return d.networkForPod(p)
}

// Finish completes the pod interface: it gives the pod end the MAC mac
// (nil: keep the one it has) and adds ips (IPv6 without DAD); addresses it
// holds already are fine. It returns the pod end's MAC. Finish works in the
// pod's namespace only and does not take the Dataplane's lock, so it never
// waits for Set or another pod's AddPod. On failure the interface stays as
// it is: Remove it.
func (l *PodLink) Finish(mac net.HardwareAddr, ips []netip.Prefix) (net.HardwareAddr, error) {
	p := l.p
	p.MAC, p.IPs = mac, ips
	if err := p.validate(); err != nil {
		return nil, fmt.Errorf("add pod interface %q: %w", p.IfName, err)
	}
	if l.pns == nil {
		return nil, fmt.Errorf("add pod interface %q: the pod link is closed", p.IfName)
	}
	l.d.podWork <- struct{}{}
	hw, err := setMAC(l.pns.h, l.peer, mac)
	if err == nil {
		err = addAddrs(l.pns.h, l.peer, ips)
	}
	<-l.d.podWork
	if err != nil {
		return nil, fmt.Errorf("add pod interface %q in %q: %w", p.IfName, p.NetNS, err)
	}
	l.d.log.Info("added pod interface", "pod", p.ContainerID, "ifname", p.IfName, "vni", p.VNI, "dev", HostIfName(p.ContainerID, p.IfName))
	return hw, nil
}

// Close releases the pod's namespace; the interface stays. It is idempotent.
func (l *PodLink) Close() {
	if l.pns != nil {
		l.pns.close()
		l.pns = nil
	}
}

// Remove undoes PreparePod and closes l: it deletes the veth pair if
// PreparePod created it, and the network's devices if PreparePod created
// them for this pod, no other pod has joined since and no Set has asked for
// the network meanwhile. A pair that existed before PreparePod stays (DelPod
// removes it). A pair already gone is success.
func (l *PodLink) Remove() error {
	defer l.Close()
	d := l.d
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return errClosed
	}
	hostName := HostIfName(l.p.ContainerID, l.p.IfName)
	if l.createdPair {
		link, err := d.h.LinkByName(hostName)
		if err == nil {
			err = d.h.LinkDel(link)
		}
		if err != nil && !netdev.IsNotFound(err) {
			return fmt.Errorf("remove pod interface %q: delete %q: %w", l.p.IfName, hostName, err)
		}
		d.log.Info("removed pod interface", "pod", l.p.ContainerID, "ifname", l.p.IfName, "dev", hostName)
	}
	if l.createdNet && !d.wanted(l.p.VNI) {
		if err := d.removeUnused(l.p.VNI); err != nil {
			return fmt.Errorf("remove pod interface %q: %w", l.p.IfName, err)
		}
	}
	return nil
}

// wanted reports whether the last Set's Config has network vni.
func (d *Dataplane) wanted(vni uint32) bool {
	if d.cfg == nil {
		return false
	}
	_, ok := d.cfg.Networks[vni]
	return ok
}
