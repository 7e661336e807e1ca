package bgp

import (
	"fmt"
	"net/netip"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	sbv1 "switchboard/api/v1alpha1"
	"switchboard/internal/bgp/frrtest"
	"switchboard/internal/netnstest"
)

// The kernel tier: a real FRR (zebra + bgpd) as the top-of-rack router in
// one namespace, and speakers as two nodes in others, each on its own
// link (198.18.1.0/24, 198.18.2.0/24). FRR announces a prefix of its own
// (control) so that "a route is absent" is never read from an empty or
// unreadable table.

const (
	torASN  = 64600
	nodeASN = 64700
	control = "198.19.255.0/24"
	waitFor = 30 * time.Second // sessions come up in a second or two; the bound is generous
)

// fabric is the test's routers and nodes.
type fabric struct {
	tor        *frrtest.Router
	client     *netnstest.NS // behind the router: the outside world
	node1      *netnstest.NS
	node2      *netnstest.NS
	ip1, ip2   netip.Addr // the nodes' addresses: next hops
	tor1, tor2 netip.Addr // the router's address on each node's link
}

// newFabric builds the namespaces and starts FRR with neighbourConf
// appended to its "router bgp" block (per-neighbour options).
func newFabric(t *testing.T, neighbourConf string) *fabric {
	t.Helper()
	frrtest.Require(t)
	env := netnstest.NewPrefixed(t, "sbbg")
	f := &fabric{
		node1: env.NS("n1"), node2: env.NS("n2"),
		ip1: netip.MustParseAddr("198.18.1.11"), ip2: netip.MustParseAddr("198.18.2.12"),
		tor1: netip.MustParseAddr("198.18.1.1"), tor2: netip.MustParseAddr("198.18.2.1"),
	}
	tor := env.NS("tor")
	f.client = env.NS("cl")
	netnstest.Veth(t, netnstest.End{NS: tor, Name: "cl", Addr: netip.MustParsePrefix("198.19.1.1/24")},
		netnstest.End{NS: f.client, Name: "up", Addr: netip.MustParsePrefix("198.19.1.10/24")})
	for _, cmd := range [][]string{
		{"ip", "route", "add", "default", "via", "198.19.1.1"},
	} {
		if out, err := f.client.Exec(cmd...); err != nil {
			t.Fatalf("%v in %s: %v: %s", cmd, f.client.Name, err, out)
		}
	}
	if out, err := tor.Exec("sysctl", "-qw", "net.ipv4.ip_forward=1"); err != nil {
		t.Fatalf("forwarding in %s: %v: %s", tor.Name, err, out)
	}
	netnstest.Veth(t, netnstest.End{NS: tor, Name: "tor1", Addr: netip.MustParsePrefix("198.18.1.1/24")},
		netnstest.End{NS: f.node1, Name: "up", Addr: netip.MustParsePrefix("198.18.1.11/24")})
	netnstest.Veth(t, netnstest.End{NS: tor, Name: "tor2", Addr: netip.MustParsePrefix("198.18.2.1/24")},
		netnstest.End{NS: f.node2, Name: "up", Addr: netip.MustParsePrefix("198.18.2.12/24")})
	f.tor = frrtest.Start(t, tor, fmt.Sprintf(`frr defaults datacenter
hostname tor
router bgp %d
 bgp router-id 198.18.1.1
 no bgp ebgp-requires-policy
 no bgp network import-check
 neighbor %s remote-as %d
 neighbor %s remote-as %d
%s
 address-family ipv4 unicast
  network %s
 exit-address-family
`, torASN, f.ip1, nodeASN, f.ip2, nodeASN, neighbourConf, control))
	return f
}

func (f *fabric) peer(tor netip.Addr) Peer {
	return Peer{Name: "tor", Address: tor, Port: 179, ASN: torASN, MyASN: nodeASN,
		Families: []sbv1.BGPFamily{sbv1.BGPIPv4Unicast}, HoldTime: 9, RestartTime: 120}
}

// paths returns FRR's view of prefix as "nexthop[,stale]" sorted, and the
// whole table for messages; it fails the test if the control is missing.
func (f *fabric) paths(t *testing.T, prefix string) ([]string, string) {
	t.Helper()
	table := f.tor.Table(t, "ipv4")
	if len(table[control]) == 0 {
		t.Fatalf("FRR's table lacks its own %s: the table was not read right: %v", control, table)
	}
	var out []string
	for _, p := range table[prefix] {
		s := p.NextHop()
		if p.Stale {
			s += ",stale"
		}
		out = append(out, s)
	}
	sort.Strings(out)
	return out, fmt.Sprint(table)
}

// waitPaths waits until FRR's view of prefix is want (see paths).
func (f *fabric) waitPaths(t *testing.T, prefix string, want ...string) {
	t.Helper()
	sort.Strings(want)
	f.tor.WaitFor(t, fmt.Sprintf("%s via %v", prefix, want), waitFor, func() (bool, string) {
		got, all := f.paths(t, prefix)
		return strings.Join(got, " ") == strings.Join(want, " "), all
	})
}

func (f *fabric) waitState(t *testing.T, peer netip.Addr, established bool) {
	t.Helper()
	f.tor.WaitFor(t, fmt.Sprintf("session with %s established=%v", peer, established), waitFor, func() (bool, string) {
		n := f.tor.Neighbors(t)[peer.String()]
		return (n.State == "Established") == established, n.State
	})
}

func route(prefix string, nh netip.Addr, comms ...uint32) Route {
	return Route{Prefix: netip.MustParsePrefix(prefix), NextHop: nh, Communities: comms}
}

// TestFRRLearnsAndForgets: routes appear in FRR with the announcing node
// as next hop and the advertisement's communities, and go within seconds
// when withdrawn; routes and peers change without resetting the other
// sessions; the session is TCP MD5 protected, and a wrong password keeps
// it down.
func TestFRRLearnsAndForgets(t *testing.T) {
	f := newFabric(t, " neighbor 198.18.1.11 password s3cret-one\n neighbor 198.18.2.12 ttl-security hops 1\n address-family ipv4 unicast\n  neighbor 198.18.1.11 default-originate\n exit-address-family")
	s1 := startSpeaker(t, f.node1, f.ip1.String())
	s2 := startSpeaker(t, f.node2, f.ip2.String())
	p1 := f.peer(f.tor1)
	p1.Password = "s3cret-one"
	pod1 := route("10.244.1.0/24", f.ip1, 64512<<16|100)
	net1 := route("10.50.0.0/24", f.ip1)
	cfg1 := Config{Peers: []Peer{p1}, Routes: []Route{pod1, net1}}
	s1.set(t, cfg1)
	p2 := f.peer(f.tor2)
	p2.TTLHops = 1 // FRR has GTSM for node 2
	cfg2 := Config{Peers: []Peer{p2}, Routes: []Route{route("10.244.2.0/24", f.ip2), route("10.50.0.0/24", f.ip2)}}
	s2.set(t, cfg2)

	f.waitPaths(t, "10.244.1.0/24", "198.18.1.11")
	f.waitPaths(t, "10.244.2.0/24", "198.18.2.12")
	f.waitPaths(t, "10.50.0.0/24", "198.18.1.11", "198.18.2.12")
	// The router forwards by what it learnt: zebra put the route in its
	// kernel, and the client reaches an address of node 1's pod range
	// (on node 1's loopback; node 1 routes the client back via the router).
	for _, cmd := range [][]string{
		{"ip", "addr", "add", "10.244.1.1/32", "dev", "lo"},
		{"ip", "route", "add", "198.19.1.0/24", "via", "198.18.1.1"},
	} {
		if out, err := f.node1.Exec(cmd...); err != nil {
			t.Fatalf("%v in %s: %v: %s", cmd, f.node1.Name, err, out)
		}
	}
	if got := f.client.Ping(t, netip.MustParseAddr("10.244.1.1"), 3, "2"); got == 0 {
		out, _ := f.tor.NS.Exec("ip", "route")
		t.Errorf("the client reaches nothing of node 1's pod range through FRR; the router's kernel routes:\n%s", out)
	}
	if got := f.tor.Communities(t, "ipv4", "10.244.1.0/24")["198.18.1.11"]; got != "64512:100" {
		t.Errorf("communities of 10.244.1.0/24 in FRR = %q, want 64512:100", got)
	}
	before := f.tor.Neighbors(t)
	// No passive accept: the speaker listens on no TCP port at all.
	if out, err := f.node1.Exec("ss", "-Hltn"); err != nil || strings.TrimSpace(out) != "" {
		t.Errorf("TCP listeners in node 1's namespace (want none: the speaker only dials): %q %v", out, err)
	}
	// FRR sends node 1 its control prefix and a default route; the
	// speaker takes none of them.
	f.tor.WaitFor(t, "FRR has sent node 1 its routes", waitFor, func() (bool, string) {
		n := f.tor.PrefixesSent(t, "ipv4", f.ip1.String())
		return n >= 2, fmt.Sprint(n)
	})
	if rib := s1.rib(t); len(rib) != 2 || slices.Contains(rib, netip.MustParsePrefix(control)) {
		t.Errorf("speaker's table = %v, want its own two routes and nothing from FRR", rib)
	}

	// Live: withdraw one route, add another; the session is not reset.
	cfg1.Routes = []Route{pod1, route("10.60.0.0/24", f.ip1)}
	s1.set(t, cfg1)
	f.waitPaths(t, "10.50.0.0/24", "198.18.2.12")
	f.waitPaths(t, "10.60.0.0/24", "198.18.1.11")
	f.waitPaths(t, "10.244.1.0/24", "198.18.1.11")
	after := f.tor.Neighbors(t)
	for _, ip := range []netip.Addr{f.ip1, f.ip2} {
		if b, a := before[ip.String()], after[ip.String()]; a.State != "Established" || a.ConnectionsEstablished != b.ConnectionsEstablished {
			t.Errorf("session with %s: %+v before the route changes, %+v after: want it established throughout, never reset", ip, b, a)
		}
	}

	// GTSM: without TTL security the node's segments arrive with TTL 1
	// (eBGP), below FRR's minimum of 255, and the kernel drops them.
	ttlBefore := f.tor.MinTTLDrops(t)
	p2.TTLHops = 0
	cfg2.Peers = []Peer{p2}
	s2.set(t, cfg2)
	f.waitState(t, f.ip2, false)
	f.tor.WaitFor(t, "the kernel drops node 2's segments below the minimum TTL", waitFor, func() (bool, string) {
		n := f.tor.MinTTLDrops(t)
		return n > ttlBefore, fmt.Sprintf("%d min-TTL drops (%d before)", n, ttlBefore)
	})
	if n := f.tor.Neighbors(t)[f.ip2.String()]; n.State == "Established" {
		t.Fatalf("session with %s established without TTL security against FRR's GTSM", f.ip2)
	}

	// Live: remove node 2's peer; its routes go, node 1 is untouched.
	cfg2.Peers = nil
	s2.set(t, cfg2)
	f.waitState(t, f.ip2, false)
	f.waitPaths(t, "10.244.2.0/24")
	f.waitPaths(t, "10.50.0.0/24")
	if n := f.tor.Neighbors(t)[f.ip1.String()]; n.ConnectionsEstablished != before[f.ip1.String()].ConnectionsEstablished {
		t.Errorf("removing node 2's peer reset node 1's session: %+v", n)
	}

	// TCP MD5: with a wrong password the kernel drops the speaker's
	// segments and the session stays down; the right one brings it back.
	md5Before := f.tor.MD5Failures(t)
	p1.Password = "wrong"
	cfg1.Peers = []Peer{p1}
	s1.set(t, cfg1)
	f.waitState(t, f.ip1, false)
	f.tor.WaitFor(t, "the kernel drops segments with the wrong MD5 signature", waitFor, func() (bool, string) {
		n := f.tor.MD5Failures(t)
		return n > md5Before, fmt.Sprintf("%d MD5 failures (%d before)", n, md5Before)
	})
	if n := f.tor.Neighbors(t)[f.ip1.String()]; n.State == "Established" {
		t.Fatalf("session with %s established with the wrong password", f.ip1)
	}
	f.waitPaths(t, "10.244.1.0/24")
	p1.Password = "s3cret-one"
	cfg1.Peers = []Peer{p1}
	s1.set(t, cfg1)
	f.waitState(t, f.ip1, true)
	f.waitPaths(t, "10.244.1.0/24", "198.18.1.11")
}

// TestFRRKeepsRoutesAcrossRestart: a speaker that dies (an agent restart)
// leaves its routes in FRR, as stale, thanks to graceful restart; the next
// speaker re-announces them and FRR drops only what it did not announce
// again. Node 2 is the control: FRR has graceful restart off for it, so
// its routes go at once, which shows the test sees a withdrawal.
func TestFRRKeepsRoutesAcrossRestart(t *testing.T) {
	f := newFabric(t, " neighbor 198.18.2.12 graceful-restart-disable")
	s1 := startSpeaker(t, f.node1, f.ip1.String())
	s2 := startSpeaker(t, f.node2, f.ip2.String())
	s1.set(t, Config{Peers: []Peer{f.peer(f.tor1)}, Routes: []Route{route("10.244.1.0/24", f.ip1), route("10.70.0.0/24", f.ip1)}})
	s2.set(t, Config{Peers: []Peer{f.peer(f.tor2)}, Routes: []Route{route("10.244.2.0/24", f.ip2)}})
	f.waitPaths(t, "10.244.1.0/24", "198.18.1.11")
	f.waitPaths(t, "10.70.0.0/24", "198.18.1.11")
	f.waitPaths(t, "10.244.2.0/24", "198.18.2.12")

	s1.kill()
	s2.kill()
	f.waitState(t, f.ip1, false)
	f.waitState(t, f.ip2, false)
	f.waitPaths(t, "10.244.2.0/24") // the control: gone
	if got, all := f.paths(t, "10.244.1.0/24"); strings.Join(got, " ") != "198.18.1.11,stale" {
		t.Fatalf("after node 1's speaker died, FRR has 10.244.1.0/24 via %v, want kept as stale (graceful restart): %s", got, all)
	}

	s1 = startSpeaker(t, f.node1, f.ip1.String())
	s1.set(t, Config{Peers: []Peer{f.peer(f.tor1)}, Routes: []Route{route("10.244.1.0/24", f.ip1)}})
	f.waitState(t, f.ip1, true)
	f.waitPaths(t, "10.244.1.0/24", "198.18.1.11")
	f.waitPaths(t, "10.70.0.0/24")
}

// TestFRRLearnsIPv6: over an IPv6 session (family ipv6-unicast), a node's
// IPv6 pod range reaches FRR with the node's IPv6 address as next hop, and
// goes when withdrawn. The underlay is the IPv6 benchmarking range.
func TestFRRLearnsIPv6(t *testing.T) {
	frrtest.Require(t)
	env := netnstest.NewPrefixed(t, "sbbg")
	node, tor := env.NS("n6"), env.NS("tor")
	nodeIP, torIP := netip.MustParseAddr("2001:2:0:1::11"), netip.MustParseAddr("2001:2:0:1::1")
	netnstest.Veth(t, netnstest.End{NS: tor, Name: "tor1", Addr: netip.PrefixFrom(torIP, 64)},
		netnstest.End{NS: node, Name: "up", Addr: netip.PrefixFrom(nodeIP, 64)})
	r := frrtest.Start(t, tor, fmt.Sprintf(`frr defaults datacenter
hostname tor
router bgp %d
 bgp router-id 198.18.1.1
 no bgp ebgp-requires-policy
 neighbor %s remote-as %d
 address-family ipv6 unicast
  neighbor %s activate
 exit-address-family
`, torASN, nodeIP, nodeASN, nodeIP))
	s := startSpeaker(t, node, "198.18.1.11")
	peer := Peer{Name: "tor", Address: torIP, Port: 179, ASN: torASN, MyASN: nodeASN,
		Families: []sbv1.BGPFamily{sbv1.BGPIPv6Unicast}, HoldTime: 9, RestartTime: 120}
	pods := route("fd00:10:1::/64", nodeIP)
	s.set(t, Config{Peers: []Peer{peer}, Routes: []Route{pods}})
	nextHops := func() (bool, string) {
		paths := r.Table(t, "ipv6")["fd00:10:1::/64"]
		return len(paths) == 1 && paths[0].NextHop() == nodeIP.String(), fmt.Sprint(r.Table(t, "ipv6"))
	}
	r.WaitFor(t, "fd00:10:1::/64 via "+nodeIP.String(), waitFor, nextHops)
	s.set(t, Config{Peers: []Peer{peer}})
	r.WaitFor(t, "fd00:10:1::/64 withdrawn", waitFor, func() (bool, string) {
		table := r.Table(t, "ipv6")
		return len(table["fd00:10:1::/64"]) == 0, fmt.Sprint(table)
	})
}
