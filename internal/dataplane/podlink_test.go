package dataplane_test

import (
	"fmt"
	"maps"
	"net"
	"net/netip"
	"slices"
	"testing"

	"switchboard/internal/dataplane"
	"switchboard/internal/netnstest"
)

// noIPv6NS makes a pod namespace on n where IPv6 is disabled, so adding an
// IPv6 address there fails.
func noIPv6NS(t *testing.T, c *cluster, n *node, name string) *netnstest.NS {
	t.Helper()
	ns := c.env.NS(n.name + "-" + name)
	for _, k := range []string{"all", "default"} {
		if out, err := ns.Exec("sysctl", "-qw", "net.ipv6.conf."+k+".disable_ipv6=1"); err != nil {
			t.Fatalf("disable IPv6: %v: %s", err, out)
		}
	}
	return ns
}

// sameLinks fails t unless n has exactly the Switchboard devices of before.
func sameLinks(t *testing.T, n *node, before map[string]int) {
	t.Helper()
	if got := linkIndexes(t, n); !slices.Equal(slices.Sorted(maps.Keys(got)), slices.Sorted(maps.Keys(before))) {
		t.Errorf("node links changed: %v, were %v", got, before)
	}
}

// TestPreparePodFinish: PreparePod makes an up bridge port with the pod's
// MAC and MTU and no address; Finish adds the addresses (and a MAC chosen
// later), after which the pod is as AddPod would have made it.
func TestPreparePodFinish(t *testing.T) {
	c := newCluster(t)
	holder := c.addPod(t, c.a, "holder", red, "10.100.0.2/24")
	ns := c.env.NS("a-split")
	first, later := net.HardwareAddr{2, 0, 0, 0, 0, 0x11}, net.HardwareAddr{2, 0, 0, 0, 0, 0x12}
	spec := dataplane.PodInterface{ContainerID: "ctr-split", NetNS: ns.Path, IfName: "net1", VNI: red, MAC: first,
		IPs: []netip.Prefix{netip.MustParsePrefix("10.100.0.3/24"), netip.MustParsePrefix("fd00:100::3/64")}}

	l, err := c.a.dp.PreparePod(spec)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	linkOnly := spec
	linkOnly.IPs = nil
	if err := c.a.dp.CheckPod(linkOnly); err != nil {
		t.Errorf("after PreparePod: %v", err)
	}
	if err := c.a.dp.CheckPod(spec); err == nil {
		t.Error("CheckPod with the addresses passed before Finish")
	}

	mac, err := l.Finish(later, spec.IPs)
	if err != nil {
		t.Fatal(err)
	}
	if mac.String() != later.String() {
		t.Errorf("Finish returned MAC %s, want %s", mac, later)
	}
	spec.MAC = later
	if err := c.a.dp.CheckPod(spec); err != nil {
		t.Errorf("after Finish: %v", err)
	}
	if got := ns.Ping(t, holder.ip(), 2, "5"); got != 2 {
		t.Errorf("split pod -> holder: %d/2 replies", got)
	}
	// Finish again is harmless: addresses held are fine.
	if _, err := l.Finish(nil, spec.IPs); err != nil {
		t.Errorf("second Finish: %v", err)
	}
}

// TestPodLinkRemove: when Finish fails (IPv6 disabled in the pod), Remove
// leaves the node and the pod as they were before PreparePod; an interface
// that existed before PreparePod stays; a network Set asked for meanwhile
// stays.
func TestPodLinkRemove(t *testing.T) {
	c := newCluster(t)
	v6 := []netip.Prefix{netip.MustParsePrefix("10.100.0.32/24"), netip.MustParsePrefix("fd00:100::32/64")}
	for _, vni := range []uint32{red, 300} { // an existing network, and one PreparePod makes
		ns := noIPv6NS(t, c, c.a, fmt.Sprintf("noipv6-%d", vni))
		before := linkIndexes(t, c.a)
		l, err := c.a.dp.PreparePod(dataplane.PodInterface{ContainerID: "ctr-" + ns.Name, NetNS: ns.Path, IfName: "net1", VNI: vni})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := l.Finish(nil, v6); err == nil {
			t.Fatalf("network %d: Finish with IPv6 disabled in the pod succeeded", vni)
		}
		if err := l.Remove(); err != nil {
			t.Errorf("network %d: Remove: %v", vni, err)
		}
		sameLinks(t, c.a, before)
		if _, err := ns.Handle(t).LinkByName("net1"); err == nil {
			t.Errorf("network %d: net1 left in the pod", vni)
		}
	}

	// A pair AddPod made before is not PreparePod's to remove.
	p := c.addPod(t, c.a, "kept", red, "10.100.0.33/24")
	l, err := c.a.dp.PreparePod(p.spec)
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Remove(); err != nil {
		t.Errorf("Remove of a pair that existed: %v", err)
	}
	if err := c.a.dp.CheckPod(p.spec); err != nil {
		t.Errorf("pair that existed before PreparePod: %v", err)
	}

	// A network that Set asked for since PreparePod made it stays.
	ns := c.env.NS("a-wanted")
	l, err = c.a.dp.PreparePod(dataplane.PodInterface{ContainerID: "ctr-wanted", NetNS: ns.Path, IfName: "net1", VNI: 300})
	if err != nil {
		t.Fatal(err)
	}
	cfg := c.config(c.a)
	cfg.Networks[300] = dataplane.Network{}
	if err := c.a.dp.Set(cfg); err != nil {
		t.Fatal(err)
	}
	if err := l.Remove(); err != nil {
		t.Errorf("Remove: %v", err)
	}
	if got := linkIndexes(t, c.a); got["sbbr300"] == 0 || got["sbvx300"] == 0 || got[dataplane.HostIfName("ctr-wanted", "net1")] != 0 {
		t.Errorf("after Remove with network 300 in the config: %v, want its bridge and VXLAN device and no pod port", got)
	}
	// Remove after the pair is gone (a DEL came first) is success.
	l, err = c.a.dp.PreparePod(dataplane.PodInterface{ContainerID: "ctr-wanted", NetNS: ns.Path, IfName: "net1", VNI: 300})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.a.dp.DelPod("ctr-wanted", ns.Path, "net1"); err != nil {
		t.Fatal(err)
	}
	if err := l.Remove(); err != nil {
		t.Errorf("Remove of a pair already deleted: %v", err)
	}
}
