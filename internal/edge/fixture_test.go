package edge_test

import (
	"fmt"
	"log/slog"
	"maps"
	"net"
	"net/netip"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"switchboard/internal/dataplane"
	"switchboard/internal/edge"
	"switchboard/internal/edge/tunnel"
	"switchboard/internal/netdev"
	"switchboard/internal/netdev/devname"
	"switchboard/internal/netnstest"
	"switchboard/internal/wireguard"
)

// The kernel tests build two one-node "clusters", a and b, in namespaces
// named sbe<hex>-…: each has a gateway node (the agent's dataplane and the
// edge share its namespace, as on a real gateway) and pods on networks 1
// and 2, all four pods in one subnet so that only the data plane keeps the
// networks apart. The gateways' wan0 (198.19.0.0/24) is both the clusters'
// underlay and the WAN. The VNIs are chosen to clash: network 1 is VNI 4096
// in a and link 4096 on the WAN; network 2 is link 5000, which is network
// 1's VNI in b. Only the separate WAN port keeps them apart.

type pod struct {
	ns  *netnstest.NS
	ip  netip.Addr
	mac net.HardwareAddr
}

type site struct {
	name string
	gw   *netnstest.NS
	h    *netlink.Handle
	wan  netip.Addr
	dp   *dataplane.Dataplane
	ed   *edge.Edge
	vni  map[int]uint32 // intra-cluster VNI of network 1 and 2
	pods map[int]*pod   // the pod on network 1 and 2
	wg   bool           // see world.wg
	key  string         // the edge's WireGuard key file, when wg
	pub  string         // its public key
	eng  *wireguard.Engine
}

type world struct {
	env   *netnstest.Env
	a, b  *site
	ids   map[int]uint32 // inter-cluster ID of network 1 and 2
	links map[int]bool   // the networks the edges carry
	wg    bool           // the edges tunnel inside WireGuard
}

// newWorld builds the two sites with edges that run plain VXLAN on the WAN.
func newWorld(t *testing.T) *world { return buildWorld(t, false) }

// newWireGuardWorld builds them with edges that tunnel inside WireGuard
// (embedded wireguard-go: this kernel may have no module), and networks
// sized for it, as the agent sizes inter-cluster networks.
func newWireGuardWorld(t *testing.T) *world { return buildWorld(t, true) }

func buildWorld(t *testing.T, wg bool) *world {
	t.Helper()
	w := &world{env: netnstest.NewPrefixed(t, "sbe"), ids: map[int]uint32{1: 4096, 2: 5000}, links: map[int]bool{1: true, 2: true}, wg: wg}
	w.a = &site{name: "a", wan: netip.MustParseAddr("198.19.0.1"), vni: map[int]uint32{1: 4096, 2: 4097}}
	w.b = &site{name: "b", wan: netip.MustParseAddr("198.19.0.2"), vni: map[int]uint32{1: 5000, 2: 5001}}
	for _, s := range []*site{w.a, w.b} {
		s.gw = w.env.NS(s.name + "-gw")
		s.h = s.gw.Handle(t)
	}
	netnstest.Veth(t,
		netnstest.End{NS: w.a.gw, Name: "wan0", Addr: netip.PrefixFrom(w.a.wan, 24)},
		netnstest.End{NS: w.b.gw, Name: "wan0", Addr: netip.PrefixFrom(w.b.wan, 24)})
	for i, s := range []*site{w.a, w.b} {
		s.wg = wg
		dp, err := dataplane.New(dataplane.WithNetNS(s.gw.Path), dataplane.WithLogger(testLogger(t, s.name+"-agent")))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { dp.Close() })
		s.dp = dp
		s.setAgent(t, nil)
		s.pods = map[int]*pod{}
		for n := 1; n <= 2; n++ {
			s.pods[n] = s.addPod(t, w.env, n, fmt.Sprintf("10.77.0.%d/24", 10*(n-1)+i+1))
		}
		s.ed = newEdge(t, s)
	}
	w.program(t)
	return w
}

// setAgent is the agent's Set on the gateway: networks 1 and 2 and the
// extra VNIs, each with an edge cable.
func (s *site) setAgent(t *testing.T, extra []uint32) {
	t.Helper()
	cfg := dataplane.Config{Underlay: "wan0", LocalIP: s.wan, Networks: map[uint32]dataplane.Network{}}
	for _, vni := range append(slices.Collect(maps.Values(s.vni)), extra...) {
		n := dataplane.Network{EdgeCable: true}
		if s.wg {
			n.WANOverhead = netdev.InterClusterOverhead
		}
		cfg.Networks[vni] = n
	}
	if err := s.dp.Set(cfg); err != nil {
		t.Fatalf("agent Set on %s: %v", s.name, err)
	}
}

func (s *site) addPod(t *testing.T, env *netnstest.Env, n int, ip string) *pod {
	t.Helper()
	ns := env.NS(fmt.Sprintf("%s-net%d", s.name, n))
	pfx := netip.MustParsePrefix(ip)
	mac, err := s.dp.AddPod(dataplane.PodInterface{ContainerID: "ctr-" + ns.Name, NetNS: ns.Path, IfName: "net1",
		VNI: s.vni[n], IPs: []netip.Prefix{pfx}})
	if err != nil {
		t.Fatalf("add pod on %s network %d: %v", s.name, n, err)
	}
	return &pod{ns: ns, ip: pfx.Addr(), mac: mac}
}

func newEdge(t *testing.T, s *site) *edge.Edge {
	t.Helper()
	opts := []edge.Option{edge.WithNetNS(s.gw.Path), edge.WithLogger(testLogger(t, s.name+"-edge"))}
	if s.wg {
		if s.eng == nil {
			s.key = filepath.Join(t.TempDir(), "wireguard.key")
			s.eng = wireguard.New(testLogger(t, s.name+"-wireguard"))
			t.Cleanup(func() { s.eng.Close() })
			k, err := wireguard.LoadOrCreateKey(s.key)
			if err != nil {
				t.Fatal(err)
			}
			s.pub = k.PublicKey().String()
		}
		opts = append(opts, edge.WithTunnel(func(h *netlink.Handle, wan tunnel.WAN, log *slog.Logger) (tunnel.Tunnel, error) {
			return tunnel.NewWireGuard(h, wan, tunnel.WireGuardOptions{Device: s.eng, Name: "sbwg0", Netns: s.gw.Path, KeyFile: s.key,
				Implementation: wireguard.Userspace}, log)
		}))
	}
	ed, err := edge.New(opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ed.Close() })
	return ed
}

func (w *world) other(s *site) *site {
	if s == w.a {
		return w.b
	}
	return w.a
}

// config is what the IDCO would tell s's edge: one link per carried
// network, towards the other site's edge, with its pod's MAC.
func (w *world) config(s *site) edge.Config {
	o := w.other(s)
	cfg := edge.Config{WANLocal: s.wan, WANDevice: "wan0"}
	for n := 1; n <= 2; n++ {
		if !w.links[n] {
			continue
		}
		cfg.Links = append(cfg.Links, edge.Link{ID: w.ids[n], Cable: devname.EdgeCable(s.vni[n]),
			Peers: []edge.Peer{{Cluster: o.name, Endpoint: o.wan, MACs: []net.HardwareAddr{o.pods[n].mac}, PublicKey: o.pub}}})
	}
	return cfg
}

// program calls Set on both edges.
func (w *world) program(t *testing.T) {
	t.Helper()
	for _, s := range []*site{w.a, w.b} {
		if err := s.ed.Set(w.config(s)); err != nil {
			t.Fatalf("edge Set on %s: %v", s.name, err)
		}
	}
}

// dump returns the gateway's Switchboard devices (name, index, type,
// master, MTU, flags) and the own FDB entries of its VXLAN devices, sorted.
func dump(t *testing.T, s *site) []string {
	t.Helper()
	links, err := s.h.LinkList()
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, l := range links {
		a := l.Attrs()
		if !strings.HasPrefix(a.Name, "sb") {
			continue
		}
		// Not the running flag: the kernel sets carrier asynchronously
		// (linkwatch), so a veth made just before a dump may gain it
		// later without anyone changing anything.
		out = append(out, fmt.Sprintf("link %s index %d %s master %d mtu %d flags %v", a.Name, a.Index, l.Type(), a.MasterIndex, a.MTU, a.Flags&^net.FlagRunning))
		if l.Type() != "vxlan" {
			continue
		}
		ns, err := s.h.NeighList(a.Index, unix.AF_BRIDGE)
		if err != nil {
			t.Fatal(err)
		}
		for _, n := range ns {
			if n.MasterIndex == 0 && n.Flags&netlink.NTF_MASTER == 0 {
				out = append(out, fmt.Sprintf("fdb %s %s dst %s state %#x", a.Name, n.HardwareAddr, n.IP, n.State))
			}
		}
	}
	sort.Strings(out)
	return out
}

func exists(t *testing.T, s *site, name string) bool {
	t.Helper()
	_, err := s.h.LinkByName(name)
	return err == nil
}

// testLogger logs through t, tagged with who logs.
func testLogger(t testing.TB, who string) *slog.Logger {
	return slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug})).With("who", who)
}

type testWriter struct{ t testing.TB }

func (w testWriter) Write(b []byte) (int, error) {
	w.t.Helper()
	w.t.Log(strings.TrimRight(string(b), "\n"))
	return len(b), nil
}
