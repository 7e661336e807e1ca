package dataplane_test

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"switchboard/internal/dataplane"
	"switchboard/internal/netnstest"
)

// The kernel tests build a two-node "cluster" of network namespaces: nodes a
// and b joined by a veth underlay in 198.18.200.0/24, each with its own
// Dataplane, and pods (more namespaces) on networks red and blue. Red and
// blue pods share one subnet, so that only the data plane keeps them apart.

const (
	red  uint32 = 100
	blue uint32 = 200
)

type node struct {
	name string
	ns   *netnstest.NS
	ip   netip.Addr
	dp   *dataplane.Dataplane
	h    *netlink.Handle
}

type pod struct {
	name string
	ns   *netnstest.NS
	node *node
	spec dataplane.PodInterface
	mac  net.HardwareAddr
}

func (p *pod) ip() netip.Addr { return p.spec.IPs[0].Addr() }

type cluster struct {
	env   *netnstest.Env
	a, b  *node
	pods  []*pod
	mtu   map[uint32]int  // network MTUs to program; 0 = derived
	cable map[uint32]bool // networks with an edge cable
}

// newCluster builds nodes a and b on an IPv4 underlay and programs both
// networks, with no pods.
func newCluster(t testing.TB) *cluster {
	t.Helper()
	return newClusterOn(t, netip.MustParsePrefix("198.18.200.1/24"), netip.MustParsePrefix("198.18.200.2/24"))
}

// newClusterOn is newCluster with the nodes' underlay addresses given.
func newClusterOn(t testing.TB, ulA, ulB netip.Prefix) *cluster {
	t.Helper()
	return newClusterIn(t, netnstest.New(t), ulA, ulB)
}

// newClusterIn is newClusterOn with the namespaces made by env.
func newClusterIn(t testing.TB, env *netnstest.Env, ulA, ulB netip.Prefix) *cluster {
	t.Helper()
	c := &cluster{env: env, mtu: map[uint32]int{}, cable: map[uint32]bool{}}
	c.a = &node{name: "a", ns: env.NS("a"), ip: ulA.Addr()}
	c.b = &node{name: "b", ns: env.NS("b"), ip: ulB.Addr()}
	netnstest.Veth(t,
		netnstest.End{NS: c.a.ns, Name: "ul0", Addr: ulA},
		netnstest.End{NS: c.b.ns, Name: "ul0", Addr: ulB})
	for _, n := range []*node{c.a, c.b} {
		n.dp = newDataplane(t, n)
		n.h = n.ns.Handle(t)
	}
	c.program(t)
	return c
}

func newDataplane(t testing.TB, n *node) *dataplane.Dataplane {
	t.Helper()
	dp, err := dataplane.New(dataplane.WithNetNS(n.ns.Path), dataplane.WithLogger(testLogger(t, n.name)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { dp.Close() })
	return dp
}

// addPod creates a pod namespace on n and attaches it to network vni with
// the given addresses (prefixes).
func (c *cluster) addPod(t testing.TB, n *node, name string, vni uint32, ips ...string) *pod {
	t.Helper()
	p := &pod{name: name, ns: c.env.NS(n.name + "-" + name), node: n}
	p.spec = dataplane.PodInterface{ContainerID: "ctr-" + p.ns.Name, NetNS: p.ns.Path, IfName: "net1", VNI: vni}
	for _, s := range ips {
		p.spec.IPs = append(p.spec.IPs, netip.MustParsePrefix(s))
	}
	mac, err := n.dp.AddPod(p.spec)
	if err != nil {
		t.Fatalf("add pod %s: %v", name, err)
	}
	p.mac = mac
	c.pods = append(c.pods, p)
	return p
}

// config is what the agent would give n: every network, with the pods on
// the other node as remotes.
func (c *cluster) config(n *node) dataplane.Config {
	cfg := dataplane.Config{Underlay: "ul0", LocalIP: n.ip, Networks: map[uint32]dataplane.Network{}}
	for _, vni := range []uint32{red, blue} {
		cfg.Networks[vni] = dataplane.Network{MTU: c.mtu[vni], EdgeCable: c.cable[vni] && n == c.a}
	}
	for _, p := range c.pods {
		if p.node == n {
			continue
		}
		nw := cfg.Networks[p.spec.VNI]
		r := dataplane.Remote{NodeIP: p.node.ip, MAC: p.mac}
		for _, pfx := range p.spec.IPs {
			r.IPs = append(r.IPs, pfx.Addr())
		}
		nw.Remotes = append(nw.Remotes, r)
		cfg.Networks[p.spec.VNI] = nw
	}
	return cfg
}

// program calls Set on both nodes.
func (c *cluster) program(t testing.TB) {
	t.Helper()
	for _, n := range []*node{c.a, c.b} {
		if err := n.dp.Set(c.config(n)); err != nil {
			t.Fatalf("set node %s: %v", n.name, err)
		}
	}
}

// fourPods adds red and blue pods on both nodes (dual-stack red) and
// programs the remotes.
func (c *cluster) fourPods(t testing.TB) (redA, redB, blueA, blueB *pod) {
	t.Helper()
	redA = c.addPod(t, c.a, "red", red, "10.100.0.11/24", "fd00:100::11/64")
	redB = c.addPod(t, c.b, "red", red, "10.100.0.12/24", "fd00:100::12/64")
	blueA = c.addPod(t, c.a, "blue", blue, "10.100.0.21/24")
	blueB = c.addPod(t, c.b, "blue", blue, "10.100.0.22/24")
	c.program(t)
	return
}

// linkIndexes returns the ifindex of every Switchboard device on n.
func linkIndexes(t testing.TB, n *node) map[string]int {
	t.Helper()
	links, err := n.h.LinkList()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]int{}
	for _, l := range links {
		if strings.HasPrefix(l.Attrs().Name, "sb") {
			out[l.Attrs().Name] = l.Attrs().Index
		}
	}
	return out
}

// entries returns the FDB and neighbour entries of a network's VXLAN device
// on n as sorted text, one line per entry, duplicates kept.
func entries(t testing.TB, n *node, vni uint32) []string {
	t.Helper()
	vx, err := n.h.LinkByName(fmt.Sprintf("sbvx%d", vni))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, fam := range []int{unix.AF_BRIDGE, netlink.FAMILY_V4, netlink.FAMILY_V6} {
		ns, err := n.h.NeighList(vx.Attrs().Index, fam)
		if err != nil && !errors.Is(err, netlink.ErrDumpInterrupted) {
			t.Fatal(err)
		}
		for _, e := range ns {
			if e.IP != nil && e.IP.IsMulticast() {
				continue
			}
			switch {
			case fam != unix.AF_BRIDGE:
				out = append(out, fmt.Sprintf("neigh %s lladdr %s state %#x", e.IP, e.HardwareAddr, e.State))
			case e.MasterIndex != 0 && e.State&netlink.NUD_PERMANENT != 0:
				// the port's own address: the bridge's business
			case e.MasterIndex != 0:
				out = append(out, fmt.Sprintf("fdb %s master state %#x", e.HardwareAddr, e.State))
			default:
				out = append(out, fmt.Sprintf("fdb %s dst %s self state %#x", e.HardwareAddr, e.IP, e.State))
			}
		}
	}
	sort.Strings(out)
	return out
}

func hasDuplicates(lines []string) bool {
	c := slices.Clone(lines)
	return len(slices.Compact(c)) != len(lines)
}

func containsLine(lines []string, sub string) bool {
	return slices.ContainsFunc(lines, func(l string) bool { return strings.Contains(l, sub) })
}

// neighState returns the state of p's neighbour entry for ip, 0 if none.
func neighState(t testing.TB, p *pod, ip netip.Addr) int {
	t.Helper()
	h := p.ns.Handle(t)
	ns, err := h.NeighList(0, netlink.FAMILY_V4)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range ns {
		if a, ok := netip.AddrFromSlice(n.IP); ok && a.Unmap() == ip {
			return n.State
		}
	}
	return 0
}

// testLogger logs through t, prefixed with the node's name.
func testLogger(t testing.TB, node string) *slog.Logger {
	return slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug})).With("node", node)
}

type testWriter struct{ t testing.TB }

func (w testWriter) Write(b []byte) (int, error) {
	w.t.Helper()
	w.t.Log(strings.TrimRight(string(b), "\n"))
	return len(b), nil
}
