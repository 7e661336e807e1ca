package dataplane

import (
	"fmt"

	"github.com/vishvananda/netlink"

	"switchboard/internal/bandwidth"
	"switchboard/internal/netdev"
)

// Pod interfaces are limited in each direction by bandwidth.Limits, as
// seen from the pod: Ingress (what it receives) is shaped where the host
// end of its veth transmits, Egress (what it sends) where the pod end
// transmits, inside the pod's namespace. Both are tbf qdiscs at the root of
// the transmitting end (netdev.SetShape): this kernel has tbf and htb but
// no tc classifiers, police or ifb, so the reference CNI bandwidth
// plugin's ifb redirect for the pod's egress cannot be used. The zero
// Limits removes any shaping.

func validLimits(l bandwidth.Limits) error {
	if err := l.Validate(); err != nil {
		return invalidf("%v", err)
	}
	return nil
}

// shape holds a pod interface to bw: host (in the node) transmits what the
// pod receives, peer (in the pod) what it sends.
func (d *Dataplane) shape(host, peer netlink.Link, pns *podNS, bw bandwidth.Limits) error {
	if err := setShape(d.h, host, bw.Ingress); err != nil {
		return fmt.Errorf("ingress: %w", err)
	}
	if err := setShape(pns.h, peer, bw.Egress); err != nil {
		return fmt.Errorf("egress: %w", err)
	}
	return nil
}

// setShape programs s on link, with the default burst for link's MTU when
// s names none.
func setShape(h *netlink.Handle, link netlink.Link, s bandwidth.Shape) error {
	if s.Rate != 0 && s.Burst == 0 {
		s.Burst = bandwidth.DefaultBurst(s.Rate, link.Attrs().MTU)
	}
	return netdev.SetShape(h, link, s.Rate, s.Burst)
}

// Shape holds the pod interface to bw (see bandwidth.Limits), replacing what
// PreparePod set from the PodInterface; it is for a caller that learns the
// pod's limits with its addresses. It takes the Dataplane's lock for the
// host end's part.
func (l *PodLink) Shape(bw bandwidth.Limits) error {
	if err := validLimits(bw); err != nil {
		return fmt.Errorf("shape pod interface %q: %w", l.p.IfName, err)
	}
	if l.pns == nil {
		return fmt.Errorf("shape pod interface %q: the pod link is closed", l.p.IfName)
	}
	d := l.d
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return errClosed
	}
	host, err := d.h.LinkByName(HostIfName(l.p.ContainerID, l.p.IfName))
	if err != nil {
		return fmt.Errorf("shape pod interface %q: %w", l.p.IfName, err)
	}
	if err := d.shape(host, l.peer, l.pns, bw); err != nil {
		return fmt.Errorf("shape pod interface %q in %q: %w", l.p.IfName, l.p.NetNS, err)
	}
	return nil
}

// ShapePod holds an existing pod interface to bw: the one AddPod made for
// containerID and ifName in the namespace at netNS. It is convergent (a
// matching shape is left alone) and is how a change of a network's limits
// reaches running pods. A pod interface that does not exist is an error
// wrapping ErrConflict or a lookup error; the caller decides whether that
// matters (a pod being deleted).
func (d *Dataplane) ShapePod(containerID, netNS, ifName string, bw bandwidth.Limits) error {
	if err := validLimits(bw); err != nil {
		return fmt.Errorf("shape pod interface %q: %w", ifName, err)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return errClosed
	}
	pns, err := openPodNS(netNS)
	if err != nil {
		return fmt.Errorf("shape pod interface %q: %w", ifName, err)
	}
	defer pns.close()
	hostName := HostIfName(containerID, ifName)
	host, err := d.h.LinkByName(hostName)
	if err != nil {
		return fmt.Errorf("shape pod interface %q: find %q: %w", ifName, hostName, err)
	}
	peer, err := d.peerOf(host, pns, ifName)
	if err == nil {
		err = d.shape(host, peer, pns, bw)
	}
	if err != nil {
		return fmt.Errorf("shape pod interface %q in %q: %w", ifName, netNS, err)
	}
	return nil
}

// checkShape adds to diffs where the pod interface's shaping differs from
// bw, by rate (the burst is rounded by the kernel).
func (d *Dataplane) checkShape(host, peer netlink.Link, pns *podNS, bw bandwidth.Limits, differs func(string, ...any)) error {
	for _, end := range []struct {
		dir  string
		h    *netlink.Handle
		link netlink.Link
		want bandwidth.Shape
	}{{"ingress", d.h, host, bw.Ingress}, {"egress", pns.h, peer, bw.Egress}} {
		rate, _, err := netdev.ShapeOf(end.h, end.link)
		if err != nil {
			return err
		}
		if rate != end.want.Rate {
			differs("%s of %q is shaped to %d bit/s, want %d", end.dir, end.link.Attrs().Name, rate, end.want.Rate)
		}
	}
	return nil
}
