package underlay_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"

	"switchboard/internal/firewall"
	"switchboard/internal/firewall/underlay"
	"switchboard/internal/netcheck"
	"switchboard/internal/netnstest"
)

// The kernel tests build two "nodes", namespaces n (whose table is under
// test) and p, joined by a veth underlay. Each has a VXLAN device for
// network vni on port 4789, like the data plane's, with a probe counter on
// it: what the counter sees is what the network would receive. p also
// holds a second address that is not a node's (the stranger).

const vni = 100

var (
	nodeIP     = netip.MustParseAddr("198.18.210.1")
	peerIP     = netip.MustParseAddr("198.18.210.2")
	strangerIP = netip.MustParseAddr("198.18.210.3")
	podCIDR    = netip.MustParsePrefix("10.210.0.0/16")
)

type host struct {
	ns      *netnstest.NS
	ip      netip.Addr
	counter *netcheck.FrameCounter // probes arriving on the VXLAN device
}

type bed struct {
	env        *netnstest.Env
	node, peer *host
	nodeFD     int // node's namespace, for firewall.WithNetNS
}

func newBed(t *testing.T) *bed {
	t.Helper()
	env := netnstest.NewPrefixed(t, "sbfw")
	b := &bed{env: env, node: &host{ns: env.NS("n"), ip: nodeIP}, peer: &host{ns: env.NS("p"), ip: peerIP}}
	netnstest.Veth(t,
		netnstest.End{NS: b.node.ns, Name: "ul0", Addr: netip.PrefixFrom(nodeIP, 24)},
		netnstest.End{NS: b.peer.ns, Name: "ul0", Addr: netip.PrefixFrom(peerIP, 24)})
	addAddr(t, b.peer.ns, "ul0", netip.PrefixFrom(strangerIP, 24))
	for _, h := range []*host{b.node, b.peer} {
		h.counter = vxlanWithCounter(t, h)
	}
	fd, err := netns.GetFromPath(b.node.ns.Path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { fd.Close() })
	b.nodeFD = int(fd)
	return b
}

func addAddr(t *testing.T, ns *netnstest.NS, dev string, p netip.Prefix) {
	t.Helper()
	h := ns.Handle(t)
	l, err := h.LinkByName(dev)
	if err == nil {
		err = h.AddrAdd(l, &netlink.Addr{IPNet: netnstest.IPNet(p)})
	}
	if err != nil {
		t.Fatalf("add %s to %s/%s: %v", p, ns.Name, dev, err)
	}
}

// vxlanWithCounter makes the VXLAN device of network vni on h, as the data
// plane makes it (port 4789, local address, no learning), and counts the
// probe frames it delivers.
func vxlanWithCounter(t *testing.T, h *host) *netcheck.FrameCounter {
	t.Helper()
	nh := h.ns.Handle(t)
	ul, err := nh.LinkByName("ul0")
	if err != nil {
		t.Fatal(err)
	}
	la := netlink.NewLinkAttrs()
	la.Name = "sbvx100"
	vx := &netlink.Vxlan{LinkAttrs: la, VxlanId: vni, Port: underlay.DefaultPort, SrcAddr: h.ip.AsSlice(), VtepDevIndex: ul.Attrs().Index}
	if err := nh.LinkAdd(vx); err != nil {
		t.Fatalf("add VXLAN device in %s: %v", h.ns.Name, err)
	}
	if err := nh.LinkSetUp(vx); err != nil {
		t.Fatal(err)
	}
	var c *netcheck.FrameCounter
	if err := h.ns.Do(func() (err error) { c, err = netcheck.ListenFrames("sbvx100"); return err }); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	})
	return c
}

func (b *bed) table(t *testing.T) *firewall.Table {
	t.Helper()
	tb, err := firewall.New(underlay.Family, underlay.TableName, firewall.WithNetNS(b.nodeFD))
	if err != nil {
		t.Fatal(err)
	}
	return tb
}

// set installs the rules for cfg in node's table, as a freshly started
// agent would.
func (b *bed) set(t *testing.T, cfg underlay.Config) {
	t.Helper()
	spec, err := underlay.Spec(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.table(t).Set(spec); err != nil {
		t.Fatal(err)
	}
}

func newMarker(t *testing.T) string {
	t.Helper()
	m := make([]byte, 6)
	rand.Read(m)
	return t.Name() + "-" + hex.EncodeToString(m)
}

// sender sends n probes with marker to dst.
type sender func(t *testing.T, marker string, n int)

// vxlanFrom sends VXLAN probes for vni from ns with source src to dst's
// port 4789.
func vxlanFrom(ns *netnstest.NS, src netip.Addr, dst *host) sender {
	return vxlanTo(ns, src, dst, underlay.DefaultPort)
}

// vxlanTo is vxlanFrom to another port of dst.
func vxlanTo(ns *netnstest.NS, src netip.Addr, dst *host, port uint16) sender {
	return func(t *testing.T, marker string, n int) {
		t.Helper()
		err := ns.Do(func() error {
			return netcheck.SendVXLAN(context.Background(), src, netip.AddrPortFrom(dst.ip, port), vni, marker, n, 0)
		})
		if err != nil {
			t.Fatalf("send VXLAN from %s (%s) to %s: %v", ns.Name, src, dst.ip, err)
		}
	}
}

const probes = 10

// delivered sends probes with bad, then with control (which must reach
// to: it is from a node), waits for the control's probes, and returns how
// many of bad's reached to by then. Both go the same way into to's VXLAN
// device, bad's first.
func delivered(t *testing.T, to *host, bad, control sender) int {
	t.Helper()
	mb, mc := newMarker(t), newMarker(t)
	bad(t, mb, probes)
	control(t, mc, probes)
	waitCount(t, to, mc, probes)
	return to.counter.Count(mb)
}

func waitCount(t *testing.T, h *host, marker string, want int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for h.counter.Count(marker) < want {
		if time.Now().After(deadline) {
			t.Fatalf("%s received %d of %d probes %s", h.ns.Name, h.counter.Count(marker), want, marker)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func cluster(nodes ...netip.Addr) underlay.Config {
	return underlay.Config{Nodes: nodes, PodCIDRs: []netip.Prefix{podCIDR}}
}

func TestAdmitsVXLANOnlyFromNodes(t *testing.T) {
	b := newBed(t)
	stranger := vxlanFrom(b.peer.ns, strangerIP, b.node)
	fromPeer := vxlanFrom(b.peer.ns, peerIP, b.node)
	if got := delivered(t, b.node, stranger, fromPeer); got != probes {
		t.Fatalf("without the table: %d of %d probes from a stranger delivered, want all (the hole the table closes)", got, probes)
	}
	b.set(t, cluster(nodeIP, peerIP))
	if got := delivered(t, b.node, stranger, fromPeer); got != 0 {
		t.Errorf("with the table: %d of %d probes from %s, not a node, delivered; want 0", got, probes, strangerIP)
	}
}

func TestNodeSetFollowsChanges(t *testing.T) {
	b := newBed(t)
	stranger := vxlanFrom(b.peer.ns, strangerIP, b.node)
	fromPeer := vxlanFrom(b.peer.ns, peerIP, b.node)

	b.set(t, cluster(nodeIP, strangerIP)) // peer is not a node (yet)
	if got := delivered(t, b.node, fromPeer, stranger); got != 0 {
		t.Errorf("peer not in the node set: %d of %d probes delivered, want 0", got, probes)
	}
	b.set(t, cluster(nodeIP, peerIP)) // peer joined, the stranger left
	if got := delivered(t, b.node, stranger, fromPeer); got != 0 {
		t.Errorf("stranger removed from the node set: %d of %d probes delivered, want 0", got, probes)
	}
}

func TestDeleteRemovesTable(t *testing.T) {
	b := newBed(t)
	b.set(t, cluster(nodeIP, peerIP))
	tb := b.table(t)
	for range 2 { // a second Delete finds nothing and is fine
		if err := tb.Delete(); err != nil {
			t.Fatal(err)
		}
	}
	if out, err := b.node.ns.Exec("nft", "list", "ruleset"); err != nil || out != "" {
		t.Errorf("after Delete: nft list ruleset = %q, %v; want nothing", out, err)
	}
	stranger := vxlanFrom(b.peer.ns, strangerIP, b.node)
	if got := delivered(t, b.node, stranger, vxlanFrom(b.peer.ns, peerIP, b.node)); got != probes {
		t.Errorf("after Delete: %d of %d probes from a stranger delivered, want all (no rule left)", got, probes)
	}
}

// pod attaches a "pod" namespace to node through a veth whose node end is
// hostIf, with address podIP (and more) and a default route via the node.
func (b *bed) pod(t *testing.T, name, hostIf string, gw netip.Prefix, addrs ...netip.Prefix) *netnstest.NS {
	t.Helper()
	p := b.env.NS(name)
	netnstest.Veth(t, netnstest.End{NS: b.node.ns, Name: hostIf, Addr: gw}, netnstest.End{NS: p, Name: "eth0", Addr: addrs[0]})
	for _, a := range addrs[1:] {
		addAddr(t, p, "eth0", a)
	}
	h := p.Handle(t)
	err := h.RouteAdd(&netlink.Route{Dst: &net.IPNet{IP: net.IPv4zero, Mask: net.CIDRMask(0, 32)}, Gw: gw.Addr().AsSlice()})
	if err != nil {
		t.Fatalf("default route in %s: %v", p.Name, err)
	}
	return p
}

// flows counts the connection tracking entries in ns's namespace of UDP to
// dport.
func flows(t *testing.T, ns *netnstest.NS, dport uint16) int {
	t.Helper()
	out, err := ns.Exec("conntrack", "-L", "-p", "udp", "--dport", strconv.Itoa(int(dport)))
	if err != nil && !strings.Contains(out, "flow entries") {
		t.Fatalf("conntrack -L in %s: %v: %s", ns.Name, err, out)
	}
	n := 0
	for _, line := range strings.Split(out, "\n") {
		if strings.HasPrefix(line, "udp ") {
			n++
		}
	}
	return n
}

// TestNodesVXLANIsNotTracked: with the table, the VXLAN a node sends and
// the VXLAN it receives from another node make no conntrack entry, while
// other UDP between the same addresses does (the positive control: the
// namespace tracks connections, and the count would show them).
func TestNodesVXLANIsNotTracked(t *testing.T) {
	b := newBed(t)
	b.set(t, cluster(nodeIP, peerIP))
	const other = 4788
	b.node.ns.ListenUDP(t, other)
	vxlanTo(b.peer.ns, peerIP, b.node, other)(t, newMarker(t), probes)
	deadline := time.Now().Add(10 * time.Second)
	for flows(t, b.node.ns, other) == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("UDP to port %d from a node made no conntrack entry: the probe proves nothing", other)
		}
		time.Sleep(50 * time.Millisecond)
	}
	fromPeer, own := vxlanFrom(b.peer.ns, peerIP, b.node), vxlanFrom(b.node.ns, nodeIP, b.peer)
	fromPeer(t, newMarker(t), probes)
	m := newMarker(t)
	own(t, m, probes)
	waitCount(t, b.peer, m, probes)
	if n := flows(t, b.node.ns, underlay.DefaultPort); n != 0 {
		out, _ := b.node.ns.Exec("conntrack", "-L", "-p", "udp", "--dport", "4789")
		t.Errorf("%d conntrack entries for the nodes' VXLAN, want none:\n%s", n, out)
	}
}

// TestBridgedFramesAreNotTracked: with the table, UDP between two pods on
// a network's bridge (sbbr…) makes no conntrack entry on the node, while
// the same between two pods on another bridge of the same node does (the
// positive control: br_netfilter hands bridged frames to the node's
// hooks, and the node tracks them).
func TestBridgedFramesAreNotTracked(t *testing.T) {
	b := newBed(t)
	b.set(t, cluster(nodeIP, peerIP))
	h := b.node.ns.Handle(t)
	for i, c := range []struct {
		bridge string
		port   uint16
		want   func(int) bool
		says   string
	}{
		{"cni0", 4801, func(n int) bool { return n > 0 }, "no conntrack entry for UDP across a bridge that is not Switchboard's: the probe proves nothing"},
		{"sbbr7", 4802, func(n int) bool { return n == 0 }, "conntrack entries for UDP across a network's bridge, want none"},
	} {
		la := netlink.NewLinkAttrs()
		la.Name = c.bridge
		br := &netlink.Bridge{LinkAttrs: la}
		if err := h.LinkAdd(br); err != nil {
			t.Fatalf("add bridge %s: %v", c.bridge, err)
		}
		if err := h.LinkSetUp(br); err != nil {
			t.Fatal(err)
		}
		var pods []*netnstest.NS
		for j := range 2 {
			p := b.env.NS(c.bridge + strconv.Itoa(j))
			port := "sbv7" + strconv.Itoa(i) + strconv.Itoa(j)
			netnstest.Veth(t, netnstest.End{NS: b.node.ns, Name: port},
				netnstest.End{NS: p, Name: "eth0", Addr: netip.PrefixFrom(netip.AddrFrom4([4]byte{10, 77, byte(i), byte(j + 1)}), 24)})
			l, err := h.LinkByName(port)
			if err == nil {
				err = h.LinkSetMaster(l, br)
			}
			if err != nil {
				t.Fatalf("enslave %s to %s: %v", port, c.bridge, err)
			}
			pods = append(pods, p)
		}
		conn := pods[1].ListenUDP(t, int(c.port))
		dst := netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, 77, byte(i), 2}), c.port)
		var got []string
		for deadline := time.Now().Add(10 * time.Second); len(got) == 0 && time.Now().Before(deadline); {
			pods[0].SendUDP(t, dst, "probe")
			got = netnstest.Received(conn, 200*time.Millisecond)
		}
		if len(got) == 0 {
			t.Fatalf("UDP across %s never arrived", c.bridge)
		}
		if n := flows(t, b.node.ns, c.port); !c.want(n) {
			out, _ := b.node.ns.Exec("conntrack", "-L")
			t.Errorf("%s: %d: %s\n%s", c.bridge, n, c.says, out)
		}
	}
}
