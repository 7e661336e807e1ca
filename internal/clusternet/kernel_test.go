package clusternet

import (
	"net/netip"
	"strings"
	"testing"

	"switchboard/internal/cnirpc"
	"switchboard/internal/netdev"
	"switchboard/internal/netnstest"
)

// Two pods on a node get the lowest free addresses of the node's pod CIDR
// and reach each other and the node (routed through it); the kernel records
// them (listPods); a repeated ADD of the same container keeps one interface;
// syncRoutes routes other nodes' CIDRs and removes stale ones of its own.
func TestKernelPodsAndRoutes(t *testing.T) {
	env := netnstest.NewPrefixed(t, "sbpm")
	node, pod1, pod2 := env.NS("node"), env.NS("pod1"), env.NS("pod2")
	for _, c := range [][]string{
		{"sysctl", "-qw", "net.ipv4.ip_forward=1"},
		{"ip", "link", "add", "eth0", "type", "veth", "peer", "name", "eth1"},
		{"ip", "addr", "add", "198.18.50.1/24", "dev", "eth0"},
		{"ip", "link", "set", "eth0", "up"},
		{"ip", "link", "set", "eth1", "up"},
	} {
		if out, err := node.Exec(c...); err != nil {
			t.Fatalf("%v: %v: %s", c, err, out)
		}
	}
	h := node.Handle(t)
	n := &Network{h: h, dev: netdev.New(h, nil), mtu: 1500}
	cidr := netip.MustParsePrefix("10.77.1.0/24")
	add := func(ns *netnstest.NS, id, name string) localPod {
		t.Helper()
		lp, mac, err := n.create(cnirpc.Request{ContainerID: id, IfName: "eth0", NetNS: ns.Path}, cidr,
			localPod{namespace: "ns", name: name, network: "namespace ns"})
		if err != nil {
			t.Fatal(err)
		}
		if len(mac) != 6 {
			t.Fatalf("mac %v", mac)
		}
		return lp
	}
	a := add(pod1, "c1", "p1")
	b := add(pod2, "c2", "p2")
	if a.ip.String() != "10.77.1.2" || b.ip.String() != "10.77.1.3" {
		t.Fatalf("addresses %s, %s; want 10.77.1.2, 10.77.1.3", a.ip, b.ip)
	}
	if out, err := pod1.Exec("ping", "-c", "1", "-W", "2", b.ip.String()); err != nil {
		t.Fatalf("pod1 -> pod2 through the node: %v: %s", err, out)
	}
	if out, err := node.Exec("ping", "-c", "1", "-W", "2", a.ip.String()); err != nil {
		t.Fatalf("node -> pod1: %v: %s", err, out)
	}
	// A repeated ADD of c1 starts again: still two interfaces.
	again := add(pod1, "c1", "p1")
	pods, err := listPods(h)
	if err != nil {
		t.Fatal(err)
	}
	if len(pods) != 2 {
		t.Fatalf("after a repeated ADD: %d pod interfaces, want 2: %+v", len(pods), pods)
	}
	for _, p := range pods {
		if p.namespace != "ns" || p.network != "namespace ns" || (p.ip != again.ip && p.ip != b.ip) {
			t.Errorf("recorded pod %+v", p)
		}
	}
	if out, err := pod2.Exec("ping", "-c", "1", "-W", "2", again.ip.String()); err != nil {
		t.Fatalf("pod2 -> pod1 after its repeated ADD: %v: %s", err, out)
	}

	other, stale := netip.MustParsePrefix("10.77.2.0/24"), netip.MustParsePrefix("10.77.3.0/24")
	if err := syncRoutes(h, map[netip.Prefix]netip.Addr{stale: netip.MustParseAddr("198.18.50.3")}); err != nil {
		t.Fatal(err)
	}
	if err := syncRoutes(h, map[netip.Prefix]netip.Addr{other: netip.MustParseAddr("198.18.50.2")}); err != nil {
		t.Fatal(err)
	}
	out, _ := node.Exec("ip", "route", "show", "proto", "83")
	if !strings.Contains(out, "10.77.2.0/24 via 198.18.50.2") || strings.Contains(out, "10.77.3.0/24") {
		t.Errorf("routes of ours:\n%s", out)
	}
	if err := syncRoutes(h, nil); err != nil {
		t.Fatal(err)
	}
	if out, _ := node.Exec("ip", "route", "show", "proto", "83"); strings.TrimSpace(out) != "" {
		t.Errorf("after syncRoutes(nil):\n%s", out)
	}
	// DEL removes the interface; again is success.
	for range 2 {
		if err := n.deleteLink(cnirpc.Request{ContainerID: "c1", IfName: "eth0"}); err != nil {
			t.Fatal(err)
		}
	}
	if pods, _ := listPods(h); len(pods) != 1 {
		t.Errorf("after DEL: %+v", pods)
	}
}
