package dataplane_test

import (
	"fmt"
	"net"
	"net/netip"
	"slices"
	"sync"
	"testing"

	"github.com/vishvananda/netlink"

	"switchboard/internal/dataplane"
	"switchboard/internal/netdev"
	"switchboard/internal/netnstest"
)

func newDetachCluster(t *testing.T) *cluster {
	t.Helper()
	return newClusterIn(t, netnstest.NewPrefixed(t, "sbcp"), netip.MustParsePrefix("198.18.200.1/24"), netip.MustParsePrefix("198.18.200.2/24"))
}

// TestDetachPod: DetachPod takes the pod off its network at once (its host
// end is down and no listing counts it any more) and the pair is gone once
// the background deletion has ended (Close waits for it); DelPod after it
// waits for the deletion; both are idempotent.
func TestDetachPod(t *testing.T) {
	c := newDetachCluster(t)
	p := c.addPod(t, c.a, "p", red, "10.100.0.21/24")
	q := c.addPod(t, c.a, "q", red, "10.100.0.22/24")
	r := c.addPod(t, c.a, "r", red, "10.100.0.23/24")
	hostP := dataplane.HostIfName(p.spec.ContainerID, "net1")
	hostQ := dataplane.HostIfName(q.spec.ContainerID, "net1")
	hostR := dataplane.HostIfName(r.spec.ContainerID, "net1")
	for range 2 {
		if err := c.a.dp.DetachPod(p.spec.ContainerID, "net1"); err != nil {
			t.Fatalf("DetachPod: %v", err)
		}
	}
	if l, err := c.a.h.LinkByName(hostP); err == nil && l.Attrs().Flags&net.FlagUp != 0 {
		t.Errorf("%s is still up after DetachPod", hostP)
	}
	if ports, err := c.a.dp.PodPorts(); err != nil || ports[hostP] || !ports[hostQ] {
		t.Errorf("PodPorts after DetachPod = %v, %v: want %s and not %s", ports, err, hostQ, hostP)
	}
	if got, err := c.a.dp.LocalPorts(red); err != nil || !slices.Equal(got, slices.Sorted(slices.Values([]string{hostQ, hostR}))) {
		t.Errorf("LocalPorts(red) after DetachPod = %v, %v", got, err)
	}
	if err := c.a.dp.DetachPod(r.spec.ContainerID, "net1"); err != nil {
		t.Fatalf("DetachPod: %v", err)
	}
	if err := c.a.dp.DelPod(r.spec.ContainerID, r.spec.NetNS, "net1"); err != nil {
		t.Fatalf("DelPod after DetachPod: %v", err)
	}
	if _, err := c.a.h.LinkByName(hostR); !netdev.IsNotFound(err) {
		t.Errorf("%s after DetachPod and DelPod: %v, want it gone", hostR, err)
	}
	if err := c.a.dp.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := c.a.h.LinkByName(hostP); !netdev.IsNotFound(err) {
		t.Errorf("%s once the background deletion ended: %v, want it gone", hostP, err)
	}
	if _, err := p.ns.Handle(t).LinkByName("net1"); err == nil {
		t.Error("net1 left in the pod")
	}
	if _, err := c.a.h.LinkByName(hostQ); err != nil {
		t.Errorf("the other pod's port: %v", err)
	}
}

// TestAddAfterDetach: an ADD of the same interface right after DetachPod (a
// runtime retrying a sandbox) waits for the background deletion of the old
// pair, so the new pair outlives it, up and addressed.
func TestAddAfterDetach(t *testing.T) {
	c := newDetachCluster(t)
	p := c.addPod(t, c.a, "p", red, "10.100.0.31/24")
	host := dataplane.HostIfName(p.spec.ContainerID, "net1")
	for i := range 5 {
		if err := c.a.dp.DetachPod(p.spec.ContainerID, "net1"); err != nil {
			t.Fatalf("DetachPod %d: %v", i, err)
		}
		if _, err := c.a.dp.AddPod(p.spec); err != nil {
			t.Fatalf("AddPod %d right after DetachPod: %v", i, err)
		}
	}
	if err := c.a.dp.Close(); err != nil { // waits for every background deletion
		t.Fatal(err)
	}
	l, err := c.a.h.LinkByName(host)
	if err != nil {
		t.Fatalf("the new pair's host end is gone: %v", err)
	}
	if l.Attrs().Flags&net.FlagUp == 0 || l.Attrs().MasterIndex == 0 {
		t.Errorf("%s: flags %v, master %d: want an up bridge port", host, l.Attrs().Flags, l.Attrs().MasterIndex)
	}
	pl, err := p.ns.Handle(t).LinkByName("net1")
	if err != nil {
		t.Fatalf("net1 in the pod: %v", err)
	}
	addrs, err := p.ns.Handle(t).AddrList(pl, 0)
	if err != nil || !slices.ContainsFunc(addrs, func(a netlink.Addr) bool { return a.IPNet.String() == "10.100.0.31/24" }) {
		t.Errorf("net1 addresses %v, %v: want 10.100.0.31/24", addrs, err)
	}
}

// TestAddWhileSetRemoves: pods added at once on a network that Set keeps
// removing (it is not in Set's Config, as when a network's first pod
// starts before the agent's loop has seen its Attachment) all end as ports
// of the network's bridge, which Set keeps while they are there: PreparePod
// works outside the Dataplane's lock, and Set must count the pods being
// made and those made since it listed the links.
func TestAddWhileSetRemoves(t *testing.T) {
	c := newDetachCluster(t)
	only := dataplane.Config{Underlay: "ul0", LocalIP: c.a.ip, Networks: map[uint32]dataplane.Network{red: {}}}
	const n = 24
	stop, sets := make(chan struct{}), make(chan int)
	go func() {
		k := 0
		for ; ; k++ {
			select {
			case <-stop:
				sets <- k
				return
			default:
			}
			_ = c.a.dp.Set(only) // *NetworksInUseError while blue has pods
		}
	}()
	var wg sync.WaitGroup
	specs := make([]dataplane.PodInterface, n)
	errs := make([]error, n)
	for i := range specs {
		ns := c.env.NS(fmt.Sprintf("w%d", i))
		specs[i] = dataplane.PodInterface{ContainerID: fmt.Sprintf("w%d", i), NetNS: ns.Path, IfName: "net1", VNI: blue,
			IPs: []netip.Prefix{netip.PrefixFrom(netip.AddrFrom4([4]byte{10, 100, 7, byte(10 + i)}), 24)}}
		wg.Go(func() { _, errs[i] = c.a.dp.AddPod(specs[i]) })
	}
	wg.Wait()
	close(stop)
	t.Logf("Set ran %d times meanwhile", <-sets)
	br, err := c.a.h.LinkByName(fmt.Sprintf("sbbr%d", blue))
	if err != nil {
		t.Fatalf("blue's bridge is gone with pods on it: %v", err)
	}
	for i, p := range specs {
		if errs[i] != nil {
			t.Errorf("AddPod %d: %v", i, errs[i])
			continue
		}
		host, err := c.a.h.LinkByName(dataplane.HostIfName(p.ContainerID, "net1"))
		if err != nil {
			t.Errorf("pod %d: host end: %v", i, err)
			continue
		}
		if host.Attrs().MasterIndex != br.Attrs().Index {
			t.Errorf("pod %d: host end's master %d, want blue's bridge %d", i, host.Attrs().MasterIndex, br.Attrs().Index)
		}
	}
}
