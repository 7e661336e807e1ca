package underlay_test

import (
	"net/netip"
	"testing"
)

// Pods on node n send VXLAN datagrams for network vni: to n itself, and
// through n to p. Before the table, every one is delivered (the control
// that proves the path); with it, none.

var (
	// pod behind a Switchboard pod port, that also claims the address of
	// a third node (in the node set, not otherwise on this underlay)
	sbPodGW   = netip.MustParsePrefix("10.210.1.1/24")
	sbPodIP   = netip.MustParsePrefix("10.210.1.5/24")
	thirdNode = netip.MustParseAddr("198.18.210.4")
	// pod behind the primary network's interface, which the agent is told
	primaryGW = netip.MustParsePrefix("10.210.2.1/24")
	primaryIP = netip.MustParsePrefix("10.210.2.5/24")
	// pod behind an interface nobody named, from outside the pod CIDRs,
	// that n masquerades to its own address towards p
	hiddenGW = netip.MustParsePrefix("172.31.0.1/24")
	hiddenIP = netip.MustParsePrefix("172.31.0.5/24")
)

type podCase struct {
	name string
	send sender
}

func TestDropsVXLANFromPods(t *testing.T) {
	b := newBed(t)
	setSysctl(t, b.node, "net.ipv4.ip_forward", "1")
	setSysctl(t, b.node, "net.ipv4.conf.all.rp_filter", "0")
	setSysctl(t, b.peer, "net.ipv4.conf.all.rp_filter", "0")
	sb := b.pod(t, "sb", "sbvfw0", sbPodGW, sbPodIP, netip.PrefixFrom(thirdNode, 32))
	primary := b.pod(t, "pri", "fwpri0", primaryGW, primaryIP)
	hidden := b.pod(t, "hid", "fwhid0", hiddenGW, hiddenIP)
	// n masquerades the hidden pod, and forwards port 5789 of either node
	// to its port 4789 (as a Service could): the rules must hold before
	// and after DNAT, and after masquerade.
	if out, err := b.node.ns.Exec("nft", "add table ip fwnat; "+
		"add chain ip fwnat post { type nat hook postrouting priority srcnat; }; "+
		"add rule ip fwnat post oifname ul0 ip saddr 172.31.0.0/16 masquerade; "+
		"add chain ip fwnat pre { type nat hook prerouting priority dstnat; }; "+
		"add rule ip fwnat pre udp dport 5789 ip daddr 198.18.210.1 dnat to 198.18.210.1:4789; "+
		"add rule ip fwnat pre udp dport 5789 ip daddr 198.18.210.2 dnat to 198.18.210.2:4789"); err != nil {
		t.Fatalf("NAT in %s: %v: %s", b.node.ns.Name, err, out)
	}
	toNode := []podCase{
		{"pod port, forged node source", vxlanFrom(sb, thirdNode, b.node)},
		{"pod port, pod source", vxlanFrom(sb, sbPodIP.Addr(), b.node)},
		{"primary interface, pod source", vxlanFrom(primary, primaryIP.Addr(), b.node)},
		{"pod port, forged node source, DNAT to 4789", vxlanTo(sb, thirdNode, b.node, 5789)},
	}
	toPeer := []podCase{
		{"pod port, pod source", vxlanFrom(sb, sbPodIP.Addr(), b.peer)},
		{"primary interface, pod source", vxlanFrom(primary, primaryIP.Addr(), b.peer)},
		{"unnamed interface, masqueraded", vxlanFrom(hidden, hiddenIP.Addr(), b.peer)},
		{"primary interface, pod source, DNAT to 4789", vxlanTo(primary, primaryIP.Addr(), b.peer, 5789)},
	}
	// Controls: the node's own VXLAN to p, and p's to the node, both from
	// node addresses, pass through the table untouched.
	nodeToPeer := vxlanFrom(b.node.ns, nodeIP, b.peer)
	peerToNode := vxlanFrom(b.peer.ns, peerIP, b.node)

	check := func(want func(sent int) int, phase string) {
		t.Helper()
		for _, c := range toNode {
			if got := delivered(t, b.node, c.send, peerToNode); got != want(probes) {
				t.Errorf("%s: to its own node, %s: %d of %d probes delivered, want %d", phase, c.name, got, probes, want(probes))
			}
		}
		for _, c := range toPeer {
			if got := delivered(t, b.peer, c.send, nodeToPeer); got != want(probes) {
				t.Errorf("%s: through its node to another, %s: %d of %d probes delivered, want %d", phase, c.name, got, probes, want(probes))
			}
		}
	}
	check(func(n int) int { return n }, "without the table")
	if t.Failed() {
		t.Fatal("the paths do not work without the table: the test proves nothing")
	}
	cfg := cluster(nodeIP, peerIP, thirdNode)
	cfg.PodCIDRs = []netip.Prefix{sbPodIP.Masked(), primaryIP.Masked()}
	cfg.PodInterfaces = []string{"fwpri0"}
	b.set(t, cfg)
	check(func(int) int { return 0 }, "with the table")
}

func setSysctl(t *testing.T, h *host, key, value string) {
	t.Helper()
	if out, err := h.ns.Exec("sysctl", "-qw", key+"="+value); err != nil {
		t.Fatalf("sysctl %s=%s in %s: %v: %s", key, value, h.ns.Name, err, out)
	}
}
