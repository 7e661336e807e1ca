package dataplane_test

import (
	"errors"
	"fmt"
	"maps"
	"net"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/vishvananda/netlink"

	"switchboard/internal/dataplane"
	"switchboard/internal/netdev"
	"switchboard/internal/netnstest"
)

// podLinks returns the names of n's host-side pod interfaces.
func podLinks(t *testing.T, n *node) []string {
	t.Helper()
	var out []string
	for name := range linkIndexes(t, n) {
		if strings.HasPrefix(name, "sbv") && !strings.HasPrefix(name, "sbvx") {
			out = append(out, name)
		}
	}
	slices.Sort(out)
	return out
}

// TestAddPodRollback: a failed AddPod leaves no veth behind, on either side,
// and no network devices it created for the pod.
func TestAddPodRollback(t *testing.T) {
	c := newCluster(t)
	spec := func(ns *netnstest.NS, vni uint32, ips ...string) dataplane.PodInterface {
		p := dataplane.PodInterface{ContainerID: "ctr-" + ns.Name, NetNS: ns.Path, IfName: "net1", VNI: vni}
		for _, s := range ips {
			p.IPs = append(p.IPs, netip.MustParsePrefix(s))
		}
		return p
	}
	noIPv6 := noIPv6NS(t, c, c.a, "noipv6")
	taken := c.env.NS("a-taken")
	netnstest.Veth(t, netnstest.End{NS: taken, Name: "net1"}, netnstest.End{NS: taken, Name: "other"})

	for _, tc := range []struct {
		name string
		spec dataplane.PodInterface
	}{
		{"missing namespace", spec(&netnstest.NS{Name: "gone", Path: "/run/netns/" + noIPv6.Name + "-gone"}, red, "10.100.0.31/24")},
		{"IPv6 disabled in the pod, on a new network", spec(noIPv6, 300, "10.100.0.32/24", "fd00:100::32/64")},
		{"IPv6 disabled in the pod, on an existing network", spec(noIPv6, red, "10.100.0.32/24", "fd00:100::32/64")},
		{"interface name taken in the pod", spec(taken, red, "10.100.0.33/24")},
		{"MTU above the network's", func() dataplane.PodInterface { s := spec(noIPv6, red); s.MTU = 1451; return s }()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := linkIndexes(t, c.a)
			if _, err := c.a.dp.AddPod(tc.spec); err == nil {
				t.Fatal("AddPod succeeded")
			} else {
				t.Logf("AddPod: %v", err)
			}
			sameLinks(t, c.a, before)
			if tc.spec.NetNS == noIPv6.Path {
				if _, err := noIPv6.Handle(t).LinkByName("net1"); err == nil {
					t.Error("net1 left in the pod")
				}
			}
		})
	}

	// A fresh Dataplane has no underlay yet: it can only use existing networks.
	dp := newDataplane(t, c.a)
	if _, err := dp.AddPod(spec(noIPv6, 400)); !errors.Is(err, dataplane.ErrNotConfigured) {
		t.Errorf("AddPod on a new network before Set: %v, want ErrNotConfigured", err)
	}
	if _, err := dp.AddPod(spec(noIPv6, red, "10.100.0.34/24")); err != nil {
		t.Errorf("AddPod on an existing network before Set: %v", err)
	}
}

// TestAddPodIdempotent: AddPod again with the same identity succeeds, keeps
// the interface and restores what drifted; another namespace is a conflict.
func TestAddPodIdempotent(t *testing.T) {
	c := newCluster(t)
	p := c.addPod(t, c.a, "red", red, "10.100.0.11/24", "fd00:100::11/64")
	host := link(t, c.a, dataplane.HostIfName(p.spec.ContainerID, "net1"))
	if host.Attrs().MTU != 1450 || host.Attrs().Flags&net.FlagUp == 0 {
		t.Errorf("host end: MTU %d flags %v", host.Attrs().MTU, host.Attrs().Flags)
	}
	ph := p.ns.Handle(t)
	peer, err := ph.LinkByName("net1")
	if err != nil {
		t.Fatal(err)
	}
	if err := ph.AddrDel(peer, &netlink.Addr{IPNet: netnstest.IPNet(p.spec.IPs[0])}); err != nil {
		t.Fatal(err)
	}
	mac, err := c.a.dp.AddPod(p.spec)
	if err != nil {
		t.Fatalf("second AddPod: %v", err)
	}
	if mac.String() != p.mac.String() {
		t.Errorf("second AddPod returned MAC %s, first %s", mac, p.mac)
	}
	if got := link(t, c.a, host.Attrs().Name).Attrs().Index; got != host.Attrs().Index {
		t.Errorf("host end recreated: index %d, was %d", got, host.Attrs().Index)
	}
	if err := c.a.dp.CheckPod(p.spec); err != nil {
		t.Errorf("CheckPod after the second AddPod: %v", err)
	}

	other := c.env.NS("a-other")
	moved := p.spec
	moved.NetNS = other.Path
	if _, err := c.a.dp.AddPod(moved); !errors.Is(err, dataplane.ErrConflict) {
		t.Errorf("AddPod with the same identity in another namespace: %v, want ErrConflict", err)
	}
	if got := podLinks(t, c.a); len(got) != 1 {
		t.Errorf("pod links: %v", got)
	}
}

// TestCheckPod: CheckPod accepts what AddPod made and names what differs.
func TestCheckPod(t *testing.T) {
	c := newCluster(t)
	for i, tc := range []struct {
		name   string
		modify func(t *testing.T, p *pod, spec *dataplane.PodInterface)
		want   string // in the error; "" for success
	}{
		{"as added", func(*testing.T, *pod, *dataplane.PodInterface) {}, ""},
		{"address removed", func(t *testing.T, p *pod, _ *dataplane.PodInterface) {
			h := p.ns.Handle(t)
			l, _ := h.LinkByName("net1")
			if err := h.AddrDel(l, &netlink.Addr{IPNet: netnstest.IPNet(p.spec.IPs[0])}); err != nil {
				t.Fatal(err)
			}
		}, "lacks address"},
		{"extra address", func(_ *testing.T, _ *pod, s *dataplane.PodInterface) { s.IPs = s.IPs[:0] }, "unexpected address"},
		{"pod end down", func(t *testing.T, p *pod, _ *dataplane.PodInterface) {
			h := p.ns.Handle(t)
			l, _ := h.LinkByName("net1")
			if err := h.LinkSetDown(l); err != nil {
				t.Fatal(err)
			}
		}, `"net1" is down`},
		{"other network", func(_ *testing.T, _ *pod, s *dataplane.PodInterface) { s.VNI = blue }, "is not a port of"},
		{"other MAC", func(_ *testing.T, _ *pod, s *dataplane.PodInterface) { s.MAC = net.HardwareAddr{2, 0, 0, 0, 0, 1} }, "has MAC"},
		{"other MTU", func(_ *testing.T, _ *pod, s *dataplane.PodInterface) { s.MTU = 1400 }, "has MTU"},
		{"deleted", func(t *testing.T, p *pod, _ *dataplane.PodInterface) {
			if err := p.node.dp.DelPod(p.spec.ContainerID, p.spec.NetNS, "net1"); err != nil {
				t.Fatal(err)
			}
		}, "does not exist"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := c.addPod(t, c.a, fmt.Sprintf("chk%d", i), red, "10.100.0.41/24")
			spec := p.spec
			tc.modify(t, p, &spec)
			err := c.a.dp.CheckPod(spec)
			switch {
			case tc.want == "" && err != nil:
				t.Errorf("CheckPod: %v", err)
			case tc.want != "" && (!errors.Is(err, dataplane.ErrMismatch) || !strings.Contains(err.Error(), tc.want)):
				t.Errorf("CheckPod: %v, want ErrMismatch saying %q", err, tc.want)
			}
		})
	}
}

// TestDelPod: DelPod removes the pair and is idempotent, also once the
// namespace is gone.
func TestDelPod(t *testing.T) {
	c := newCluster(t)
	p := c.addPod(t, c.a, "red", red, "10.100.0.11/24")
	q := c.addPod(t, c.a, "red2", red, "10.100.0.12/24")
	hostP := dataplane.HostIfName(p.spec.ContainerID, "net1")
	hostQ := dataplane.HostIfName(q.spec.ContainerID, "net1")
	if got, err := c.a.dp.LocalPorts(red); err != nil || !slices.Equal(got, slices.Sorted(slices.Values([]string{hostP, hostQ}))) {
		t.Errorf("LocalPorts(red) = %v, %v", got, err)
	}
	for range 2 {
		if err := c.a.dp.DelPod(p.spec.ContainerID, p.spec.NetNS, "net1"); err != nil {
			t.Errorf("DelPod: %v", err)
		}
	}
	if _, err := p.ns.Handle(t).LinkByName("net1"); err == nil {
		t.Error("net1 left in the pod")
	}
	if got, err := c.a.dp.LocalPorts(red); err != nil || !slices.Equal(got, []string{hostQ}) {
		t.Errorf("LocalPorts(red) after DelPod = %v, %v", got, err)
	}
	if err := q.ns.Delete(); err != nil {
		t.Fatal(err)
	}
	if err := c.a.dp.DelPod(q.spec.ContainerID, q.spec.NetNS, "net1"); err != nil {
		t.Errorf("DelPod with the namespace gone: %v", err)
	}
	if got, err := c.a.dp.LocalPorts(blue); err != nil || len(got) != 0 {
		t.Errorf("LocalPorts(blue) = %v, %v", got, err)
	}
	if got, err := c.a.dp.LocalPorts(12345); err != nil || got != nil {
		t.Errorf("LocalPorts of a missing network = %v, %v", got, err)
	}
}

// TestConcurrentAddPod: pods added and deleted in parallel while Set runs
// all end up as asked.
func TestConcurrentAddPod(t *testing.T) {
	c := newCluster(t)
	const n = 8
	pods := make([]*pod, n)
	for i := range pods {
		p := &pod{name: fmt.Sprintf("p%d", i), ns: c.env.NS(fmt.Sprintf("a-p%d", i)), node: c.a}
		p.spec = dataplane.PodInterface{ContainerID: "ctr-" + p.ns.Name, NetNS: p.ns.Path, IfName: "net1", VNI: red,
			IPs: []netip.Prefix{netip.PrefixFrom(netip.AddrFrom4([4]byte{10, 100, 0, byte(50 + i)}), 24)}}
		pods[i] = p
	}
	var wg sync.WaitGroup
	errs := make(chan error, 2*n+10)
	stop := make(chan struct{})
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			default:
			}
			if err := c.a.dp.Set(c.config(c.a)); err != nil {
				errs <- err
			}
		}
	}()
	var adds sync.WaitGroup
	for _, p := range pods {
		adds.Add(1)
		go func() {
			defer adds.Done()
			if _, err := c.a.dp.AddPod(p.spec); err != nil {
				errs <- err
			}
		}()
	}
	adds.Wait()
	close(stop)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	ports, err := c.a.dp.LocalPorts(red)
	if err != nil || len(ports) != n {
		t.Fatalf("LocalPorts(red) = %v, %v; want %d ports", ports, err, n)
	}
	for _, p := range pods {
		if err := c.a.dp.CheckPod(p.spec); err != nil {
			t.Error(err)
		}
	}
	if got := pods[0].ns.Ping(t, pods[n-1].spec.IPs[0].Addr(), 2, "5"); got != 2 {
		t.Errorf("local red pods: %d/2 replies", got)
	}
}

// TestMTU: a network's MTU reaches the bridge, the VXLAN device and new pods,
// and changes in place.
func TestMTU(t *testing.T) {
	c := newCluster(t)
	c.mtu[red] = 1400
	c.program(t)
	p := c.addPod(t, c.a, "red", red, "10.100.0.11/24")
	before := linkIndexes(t, c.a)
	for _, name := range []string{"sbbr100", "sbvx100", dataplane.HostIfName(p.spec.ContainerID, "net1")} {
		if mtu := link(t, c.a, name).Attrs().MTU; mtu != 1400 {
			t.Errorf("%s MTU %d, want 1400", name, mtu)
		}
	}
	if l, err := p.ns.Handle(t).LinkByName("net1"); err != nil || l.Attrs().MTU != 1400 {
		t.Errorf("pod MTU: %v %v", l, err)
	}
	if mtu := link(t, c.a, "sbbr200").Attrs().MTU; mtu != 1450 {
		t.Errorf("derived MTU of blue: %d, want 1450", mtu)
	}
	c.mtu[red] = 1300
	c.program(t)
	for _, name := range []string{"sbbr100", "sbvx100"} {
		if l := link(t, c.a, name); l.Attrs().MTU != 1300 || l.Attrs().Index != before[name] {
			t.Errorf("%s: MTU %d index %d, want 1300 in place (index %d)", name, l.Attrs().MTU, l.Attrs().Index, before[name])
		}
	}
	c.mtu[red] = 1451
	if err := c.a.dp.Set(c.config(c.a)); !errors.Is(err, dataplane.ErrInvalid) {
		t.Errorf("Set with MTU 1451 over a 1500 underlay: %v, want ErrInvalid", err)
	}
}

// TestIPv6Underlay: the same data plane over an IPv6 underlay, where the
// derived MTU leaves 70 bytes of overhead.
func TestIPv6Underlay(t *testing.T) {
	c := newClusterOn(t, netip.MustParsePrefix("fd00:198:18::1/64"), netip.MustParsePrefix("fd00:198:18::2/64"))
	redA := c.addPod(t, c.a, "red", red, "10.100.0.11/24", "fd00:100::11/64")
	redB := c.addPod(t, c.b, "red", red, "10.100.0.12/24", "fd00:100::12/64")
	c.program(t)
	if mtu := link(t, c.a, "sbvx100").Attrs().MTU; mtu != 1430 {
		t.Errorf("derived MTU over IPv6: %d, want 1430", mtu)
	}
	before := linkIndexes(t, c.a)
	c.program(t)
	if got := linkIndexes(t, c.a); !maps.Equal(got, before) {
		t.Errorf("Set again over IPv6 changed devices: %v, were %v", got, before)
	}
	for _, pfx := range redB.spec.IPs {
		if got := redA.ns.Ping(t, pfx.Addr(), 3, "5"); got != 3 {
			t.Errorf("red a -> red b (%s) over IPv6: %d/3 replies", pfx.Addr(), got)
		}
	}
}

// BenchmarkAddDelPod measures AddPod then DelPod of a dual-stack pod
// interface on an existing network (what a CNI ADD and DEL cost here).
func BenchmarkAddDelPod(b *testing.B) {
	c := newCluster(b)
	ns := c.env.NS("a-bench")
	spec := dataplane.PodInterface{ContainerID: "ctr-bench", NetNS: ns.Path, IfName: "net1", VNI: red,
		IPs: []netip.Prefix{netip.MustParsePrefix("10.100.0.11/24"), netip.MustParsePrefix("fd00:100::11/64")}}
	for b.Loop() {
		if _, err := c.a.dp.AddPod(spec); err != nil {
			b.Fatal(err)
		}
		if err := c.a.dp.DelPod(spec.ContainerID, spec.NetNS, spec.IfName); err != nil {
			b.Fatal(err)
		}
	}
}

// TestAddPodSizesAnUndescribedNetwork: a pod's CNI ADD can come before the
// agent's Set describes its network; the network it makes then has the MTU
// Set will give it (here an inter-cluster network's, with room for the WAN
// tunnel), so that the pod is not left with a larger MTU than its network.
func TestAddPodSizesAnUndescribedNetwork(t *testing.T) {
	c := newCluster(t)
	const vni = 700
	ns := c.env.NS("a-early")
	spec := dataplane.PodInterface{ContainerID: "ctr-" + ns.Name, NetNS: ns.Path, IfName: "net1", VNI: vni,
		IPs: []netip.Prefix{netip.MustParsePrefix("10.100.0.70/24")}, WANOverhead: netdev.InterClusterOverhead}
	if _, err := c.a.dp.AddPod(spec); err != nil {
		t.Fatal(err)
	}
	want := 1500 - netdev.InterClusterOverhead
	br, err := c.a.h.LinkByName(fmt.Sprintf("sbbr%d", vni))
	if err != nil {
		t.Fatal(err)
	}
	pl, err := ns.Handle(t).LinkByName("net1")
	if err != nil {
		t.Fatal(err)
	}
	if br.Attrs().MTU != want || pl.Attrs().MTU != want {
		t.Errorf("network made by AddPod: bridge MTU %d, pod MTU %d; want both %d", br.Attrs().MTU, pl.Attrs().MTU, want)
	}
}
