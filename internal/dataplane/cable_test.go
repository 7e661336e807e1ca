package dataplane_test

import (
	"errors"
	"maps"
	"net"
	"net/netip"
	"slices"
	"testing"

	"github.com/vishvananda/netlink"

	"switchboard/internal/dataplane"
	"switchboard/internal/netdev/devname"
	"switchboard/internal/netnstest"
)

// newEdgeCluster is newCluster with namespaces prefixed sbe<hex>- and an
// edge cable on red at node a, the gateway.
func newEdgeCluster(t *testing.T) *cluster {
	t.Helper()
	c := newClusterIn(t, netnstest.NewPrefixed(t, "sbe"),
		netip.MustParsePrefix("198.18.201.1/24"), netip.MustParsePrefix("198.18.201.2/24"))
	c.cable[red] = true
	c.program(t)
	return c
}

// checkCable fails unless n holds red's edge cable as Set leaves it: sbe100
// an up port of sbbr100, sbn100 its up peer, both with the bridge's MTU and
// no address; sbn100's master is wantMaster ("" for none).
func checkCable(t *testing.T, n *node, wantMaster string) {
	t.Helper()
	br, port, cable := link(t, n, "sbbr100"), link(t, n, "sbe100"), link(t, n, devname.EdgeCable(red))
	if port.Type() != "veth" || cable.Type() != "veth" ||
		port.Attrs().ParentIndex != cable.Attrs().Index || cable.Attrs().ParentIndex != port.Attrs().Index {
		t.Fatalf("sbe100 (%s) and sbn100 (%s) are not one veth pair", port.Type(), cable.Type())
	}
	if port.Attrs().MasterIndex != br.Attrs().Index {
		t.Errorf("sbe100 has master index %d, want sbbr100 (%d)", port.Attrs().MasterIndex, br.Attrs().Index)
	}
	master := ""
	if i := cable.Attrs().MasterIndex; i != 0 {
		m, err := n.h.LinkByIndex(i)
		if err != nil {
			t.Fatal(err)
		}
		master = m.Attrs().Name
	}
	if master != wantMaster {
		t.Errorf("sbn100 has master %q, want %q", master, wantMaster)
	}
	for _, l := range []netlink.Link{port, cable} {
		if l.Attrs().Flags&net.FlagUp == 0 {
			t.Errorf("%s is down", l.Attrs().Name)
		}
		if l.Attrs().MTU != br.Attrs().MTU {
			t.Errorf("%s has MTU %d, want the bridge's %d", l.Attrs().Name, l.Attrs().MTU, br.Attrs().MTU)
		}
		if addrs, err := n.h.AddrList(l, netlink.FAMILY_ALL); err != nil || len(addrs) > 0 {
			t.Errorf("%s has addresses %v (%v)", l.Attrs().Name, addrs, err)
		}
	}
}

// TestEdgeCable: Set makes, keeps and repairs the edge cable, does not take
// it back from the edge's bridge, and never counts it as a pod port.
func TestEdgeCable(t *testing.T) {
	c := newEdgeCluster(t)
	checkCable(t, c.a, "")
	if _, err := c.b.h.LinkByName("sbn100"); err == nil {
		t.Error("node b, not a gateway, has an edge cable")
	}
	if _, err := c.a.h.LinkByName("sbn200"); err == nil {
		t.Error("blue, without EdgeCable, has an edge cable")
	}

	t.Run("idempotent", func(t *testing.T) {
		before := linkIndexes(t, c.a)
		stop := watch(t, c.a)
		c.program(t)
		c.program(t)
		if ev := stop(); len(ev) > 0 {
			t.Errorf("repeated Set changed the network's devices: %v", ev)
		}
		if got := linkIndexes(t, c.a); !maps.Equal(got, before) {
			t.Errorf("ifindexes changed: %v, were %v", got, before)
		}
	})

	t.Run("not a pod port", func(t *testing.T) {
		p := c.addPod(t, c.a, "red", red, "10.100.0.11/24")
		host := dataplane.HostIfName(p.spec.ContainerID, "net1")
		ps, err := c.a.dp.LocalPorts(red)
		if err != nil || !slices.Equal(ps, []string{host}) {
			t.Errorf("LocalPorts(red) = %v, %v; want [%s]", ps, err, host)
		}
		all, err := c.a.dp.PodPorts()
		if err != nil || !maps.Equal(all, map[string]bool{host: true}) {
			t.Errorf("PodPorts() = %v, %v; want only %s", all, err, host)
		}
		removed, err := c.a.dp.RemoveOrphans(func() (map[string]bool, error) { return map[string]bool{host: true}, nil })
		if err != nil || len(removed) > 0 {
			t.Errorf("RemoveOrphans removed %v (%v), want nothing", removed, err)
		}
		checkCable(t, c.a, "")
	})

	t.Run("left to the edge's bridge", func(t *testing.T) {
		edgeBr := &netlink.Bridge{LinkAttrs: netlink.LinkAttrs{Name: "testedge0"}}
		if err := c.a.h.LinkAdd(edgeBr); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = c.a.h.LinkDel(edgeBr) })
		if err := c.a.h.LinkSetMaster(link(t, c.a, "sbn100"), edgeBr); err != nil {
			t.Fatal(err)
		}
		c.program(t)
		checkCable(t, c.a, "testedge0")
		if err := c.a.h.LinkSetNoMaster(link(t, c.a, "sbn100")); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("repaired", func(t *testing.T) {
		port := link(t, c.a, "sbe100")
		for _, err := range []error{
			c.a.h.LinkSetNoMaster(port), c.a.h.LinkSetDown(port), c.a.h.LinkSetMTU(port, 1300),
			c.a.h.LinkSetDown(link(t, c.a, "sbn100")),
		} {
			if err != nil {
				t.Fatal(err)
			}
		}
		c.program(t)
		checkCable(t, c.a, "")
		if got := link(t, c.a, "sbe100").Attrs().Index; got != port.Attrs().Index {
			t.Errorf("sbe100 was recreated (index %d, was %d), want it fixed in place", got, port.Attrs().Index)
		}

		// A stray sbn100 paired with something else is replaced.
		if err := c.a.h.LinkDel(port); err != nil {
			t.Fatal(err)
		}
		stray := &netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: "sbn100"}, PeerName: "teststray0"}
		if err := c.a.h.LinkAdd(stray); err != nil {
			t.Fatal(err)
		}
		c.program(t)
		checkCable(t, c.a, "")
		if _, err := c.a.h.LinkByName("teststray0"); err == nil {
			t.Error("the stray pair's other end is still there")
		}
	})

	t.Run("orphan removed", func(t *testing.T) {
		orphan := &netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: "sbe300"}, PeerName: "sbn300"}
		if err := c.a.h.LinkAdd(orphan); err != nil {
			t.Fatal(err)
		}
		c.program(t)
		for _, name := range []string{"sbe300", "sbn300"} {
			if _, err := c.a.h.LinkByName(name); err == nil {
				t.Errorf("orphan %s of a network that is gone is still there", name)
			}
		}
		checkCable(t, c.a, "")
	})

	t.Run("removed without EdgeCable, and with its network", func(t *testing.T) {
		c.cable[red] = false
		c.program(t)
		for _, name := range []string{"sbe100", "sbn100"} {
			if _, err := c.a.h.LinkByName(name); err == nil {
				t.Errorf("%s still there without EdgeCable", name)
			}
		}
		link(t, c.a, "sbbr100") // the network itself stays

		c.cable[red] = true
		c.program(t)
		checkCable(t, c.a, "")
		cfg := c.config(c.a)
		delete(cfg.Networks, red)
		err := c.a.dp.Set(cfg)
		var inUse *dataplane.NetworksInUseError
		if !errors.As(err, &inUse) || len(inUse.Ports[red]) != 1 {
			t.Fatalf("Set without red, whose pod is still there: %v; want red in use by its pod alone", err)
		}
		for _, name := range []string{"sbe100", "sbn100"} {
			if _, err := c.a.h.LinkByName(name); err == nil {
				t.Errorf("%s still there after its network left the config", name)
			}
		}
	})
}

// TestEdgeCableTraffic: a frame that the edge puts into sbn100 reaches the
// network's pods. A stand-in for the edge bridges sbn100 to a veth into a
// namespace "far" with an address in red's subnet; red's pod pings it.
func TestEdgeCableTraffic(t *testing.T) {
	c := newEdgeCluster(t)
	redA := c.addPod(t, c.a, "red", red, "10.100.0.11/24")
	blueA := c.addPod(t, c.a, "blue", blue, "10.100.0.21/24")
	farIP := c.farBeyondEdge(t)
	if got := redA.ns.Ping(t, farIP, 3, "5"); got != 3 {
		t.Errorf("red pod -> beyond the edge cable: %d/3 replies", got)
	}
	if got := blueA.ns.Ping(t, farIP, 2, "1"); got != 0 {
		t.Errorf("blue pod reached red's edge cable: %d replies", got)
	}
}

// farBeyondEdge stands in for the edge on node a: a bridge joining red's
// cable sbn100 and a veth to namespace "far", a host of another cluster
// with address 10.100.0.99 in red's subnet, which it returns.
func (c *cluster) farBeyondEdge(t *testing.T) netip.Addr {
	t.Helper()
	far := c.env.NS("far")
	netnstest.Veth(t,
		netnstest.End{NS: c.a.ns, Name: "testfar0"},
		netnstest.End{NS: far, Name: "eth0", Addr: netip.MustParsePrefix("10.100.0.99/24")})
	edgeBr := &netlink.Bridge{LinkAttrs: netlink.LinkAttrs{Name: "testedge0"}}
	if err := c.a.h.LinkAdd(edgeBr); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"sbn100", "testfar0"} {
		if err := c.a.h.LinkSetMaster(link(t, c.a, name), edgeBr); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.a.h.LinkSetUp(edgeBr); err != nil {
		t.Fatal(err)
	}
	return netip.MustParseAddr("10.100.0.99")
}
