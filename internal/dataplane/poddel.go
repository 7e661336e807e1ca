package dataplane

import (
	"fmt"
	"slices"

	"github.com/vishvananda/netlink"

	"switchboard/internal/netdev"
)

// Deleting a veth pair is the slowest step of a pod's teardown: the kernel
// waits for an RCU grace period under RTNL (15-20 ms, more when the machine
// is busy), where setting a link down takes a fraction of a millisecond.
// DetachPod therefore cuts the pod off its network at once, by taking the
// host end down (a bridge port that is down forwards nothing and its FDB
// entries are flushed), and deletes the pair in the background through a
// netlink socket of its own, so that the deletion holds neither the
// Dataplane's lock nor its socket; DetachPod itself takes only podMu, never
// d.mu, so that it never waits for a Set. Until the deletion ends, the interface
// counts as gone: PodPorts, LocalPorts and RemoveOrphans leave it out, and
// PreparePod and DelPod of the same interface wait for it, so that a new
// pair is never taken over by a deletion of the old one.

// DetachPod takes the pod interface of containerID and ifName off its
// network at once and deletes the pair in the background. When it returns
// nil, nothing the pod sends or answers reaches the network any more, so its
// addresses may be given to another pod. It is idempotent: a missing
// interface (or one already being deleted) is success. DelPod does the
// same and waits for the deletion.
func (d *Dataplane) DetachPod(containerID, ifName string) error {
	hostName := HostIfName(containerID, ifName)
	// The name is reserved for this deletion, and the netlink work is done
	// without any lock: many DELs at once do not queue behind each other's
	// round trips, nor behind Set.
	done, err := d.reserve(hostName, d.deleting)
	if err != nil {
		return err
	}
	d.podWork <- struct{}{}
	host, err := d.dev.Find(hostName, "")
	if err == nil && host != nil {
		if err = d.h.LinkSetDown(host); netdev.IsNotFound(err) {
			err = nil
		}
	}
	<-d.podWork
	if err == nil && host != nil {
		go d.deleteLink(d.hdel, hostName, host.Attrs().Index, containerID, ifName, done)
		return nil
	}
	if err != nil && host != nil {
		err = fmt.Errorf("remove pod interface %q: set %q down: %w", ifName, hostName, err)
	}
	d.endDeleting(hostName, done)
	return err
}

// deleteLink deletes the link with index (named hostName) through hdel,
// then ends hostName's entry in d.deleting. The index, not the name,
// identifies the link: a new pair under the same name can only be made
// once done is closed, but the index makes sure of it.
func (d *Dataplane) deleteLink(hdel *netlink.Handle, hostName string, index int, containerID, ifName string, done chan struct{}) {
	la := netlink.NewLinkAttrs()
	la.Index, la.Name = index, hostName
	d.podWork <- struct{}{}
	err := hdel.LinkDel(&netlink.Veth{LinkAttrs: la})
	<-d.podWork
	switch {
	case err == nil:
		d.log.Info("deleted pod interface", "pod", containerID, "ifname", ifName, "dev", hostName)
	case netdev.IsNotFound(err): // the runtime deleted the pod's namespace first: the kernel took the pair with it
	default:
		// The port is down and off the network; the orphan collector
		// removes it, as it does any port no attachment accounts for.
		d.log.Error("delete pod interface; it stays down until the orphan collector removes it", "pod", containerID, "ifname", ifName, "dev", hostName, "error", err.Error())
	}
	d.endDeleting(hostName, done)
}

// endDeleting ends hostName's entry in d.deleting, made by reserve.
func (d *Dataplane) endDeleting(hostName string, done chan struct{}) {
	d.podMu.Lock()
	if d.deleting[hostName] == done {
		delete(d.deleting, hostName)
	}
	d.podMu.Unlock()
	close(done)
	d.pending.Done()
}

// reserve waits until no deletion of hostName and no PreparePod making it
// is under way, then enters hostName in in (d.deleting or d.adding) and
// counts it in d.pending, and returns the channel to close when done. It
// fails if the Dataplane is closed. The caller must not hold d.mu or
// podMu.
func (d *Dataplane) reserve(hostName string, in map[string]chan struct{}) (chan struct{}, error) {
	for {
		d.podMu.Lock()
		if d.closed {
			d.podMu.Unlock()
			return nil, errClosed
		}
		busy := d.deleting[hostName]
		if busy == nil {
			busy = d.adding[hostName]
		}
		if busy == nil {
			done := make(chan struct{})
			in[hostName] = done
			d.pending.Add(1)
			d.podMu.Unlock()
			return done, nil
		}
		d.podMu.Unlock()
		<-busy
	}
}

// tryReserve is reserve for a deletion without waiting: if hostName is
// being made or deleted, it reports false and reserves nothing.
func (d *Dataplane) tryReserve(hostName string) (chan struct{}, bool, error) {
	d.podMu.Lock()
	defer d.podMu.Unlock()
	if d.closed {
		return nil, false, errClosed
	}
	if d.deleting[hostName] != nil || d.adding[hostName] != nil {
		return nil, false, nil
	}
	done := make(chan struct{})
	d.deleting[hostName] = done
	d.pending.Add(1)
	return done, true, nil
}

// live returns names without those being deleted. The caller may hold
// d.mu, not podMu.
func (d *Dataplane) live(names []string) []string {
	return slices.DeleteFunc(names, d.isDeleting)
}

// isDeleting reports whether hostName is being deleted. The caller may
// hold d.mu, not podMu.
func (d *Dataplane) isDeleting(hostName string) bool {
	d.podMu.Lock()
	defer d.podMu.Unlock()
	_, ok := d.deleting[hostName]
	return ok
}

// isAdding reports whether PreparePod is making hostName. The caller may
// hold d.mu, not podMu.
func (d *Dataplane) isAdding(hostName string) bool {
	d.podMu.Lock()
	defer d.podMu.Unlock()
	_, ok := d.adding[hostName]
	return ok
}
