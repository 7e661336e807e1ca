package wireguard

import (
	"context"
	"fmt"
	"net/netip"
	"path/filepath"
	"testing"
	"time"

	"switchboard/internal/netnstest"

	"golang.zx2c4.com/wireguard/wgctrl/wgtypes"
)

// The kernel-tier fixture: gateways in throwaway namespaces ("sbwg<4 hex>-
// <name>"), joined pairwise by veth "WAN" links in 198.18.0.0/15, each with
// an Engine making the device "sbwg0".

const (
	testDev  = "sbwg0"
	testPort = 51820
	testMTU  = 1420
)

type gateway struct {
	name    string
	ns      *netnstest.NS
	keyFile string
	eng     *Engine
	wan     map[string]netip.Addr // this gateway's WAN address towards each peer, by peer name
}

func newGateway(t testing.TB, env *netnstest.Env, name string) *gateway {
	t.Helper()
	g := &gateway{name: name, ns: env.NS(name), keyFile: filepath.Join(t.TempDir(), "wg.key"), eng: New(nil), wan: map[string]netip.Addr{}}
	t.Cleanup(func() {
		if err := g.eng.Close(); err != nil {
			t.Errorf("close engine of %s: %v", name, err)
		}
	})
	return g
}

// link joins a and b with a veth pair named after the other end:
// 198.18.<subnet>.1 on a, .2 on b.
func link(t testing.TB, a, b *gateway, subnet int) {
	t.Helper()
	aa := netip.MustParsePrefix(fmt.Sprintf("198.18.%d.1/24", subnet))
	ba := netip.MustParsePrefix(fmt.Sprintf("198.18.%d.2/24", subnet))
	netnstest.Veth(t, netnstest.End{NS: a.ns, Name: "sbwg" + b.name, Addr: aa}, netnstest.End{NS: b.ns, Name: "sbwg" + a.name, Addr: ba})
	a.wan[b.name], b.wan[a.name] = aa.Addr(), ba.Addr()
}

func (g *gateway) pub(t testing.TB) wgtypes.Key {
	t.Helper()
	k, err := LoadOrCreateKey(g.keyFile)
	if err != nil {
		t.Fatal(err)
	}
	return k.PublicKey()
}

// addr is the gateway's tunnel address, from its current key file.
func (g *gateway) addr(t testing.TB) netip.Addr { return TunnelAddress(g.pub(t)) }

func (g *gateway) config(t testing.TB, peers ...*gateway) Config {
	t.Helper()
	c := Config{Name: testDev, Netns: g.ns.Path, PrivateKeyFile: g.keyFile, ListenPort: testPort, MTU: testMTU}
	for _, p := range peers {
		c.Peers = append(c.Peers, Peer{PublicKey: p.pub(t), Endpoint: netip.AddrPortFrom(p.wan[g.name], testPort).String()})
	}
	return c
}

// restart closes g's engine (its device goes) and sets a new one up with
// the same key and peers.
func (g *gateway) restart(t testing.TB, peers ...*gateway) {
	t.Helper()
	if err := g.eng.Close(); err != nil {
		t.Fatalf("close engine of %s: %v", g.name, err)
	}
	g.eng = New(nil)
	g.set(t, peers...)
}

// set converges g's device to have exactly peers.
func (g *gateway) set(t testing.TB, peers ...*gateway) {
	t.Helper()
	if err := g.eng.Set(context.Background(), g.config(t, peers...)); err != nil {
		t.Fatalf("set %s: %v", g.name, err)
	}
}

func (g *gateway) status(t testing.TB) Status {
	t.Helper()
	s, err := g.eng.Status()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func (g *gateway) peerStatus(t testing.TB, pub wgtypes.Key) (PeerStatus, bool) {
	t.Helper()
	for _, p := range g.status(t).Peers {
		if p.PublicKey == pub {
			return p, true
		}
	}
	return PeerStatus{}, false
}

func (g *gateway) ifindex(t testing.TB) int {
	t.Helper()
	l, err := g.ns.Handle(t).LinkByName(testDev)
	if err != nil {
		t.Fatalf("%s has no %s: %v", g.name, testDev, err)
	}
	return l.Attrs().Index
}

// reaches waits, generously, until a ping from g to dst is answered; the
// first handshake may take a moment on a loaded machine.
func (g *gateway) reaches(t testing.TB, dst netip.Addr) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if g.ns.Ping(t, dst, 1, "1") == 1 {
			return
		}
	}
	t.Fatalf("%s: no answer from %s through the tunnel within 30 s", g.name, dst)
}

// cutOff asserts that none of 3 pings from g to dst is answered.
func (g *gateway) cutOff(t testing.TB, dst netip.Addr) {
	t.Helper()
	if got := g.ns.Ping(t, dst, 3, "1"); got != 0 {
		t.Fatalf("%s: %d of 3 pings to %s answered, want none", g.name, got, dst)
	}
}

// pair makes gateways a and b joined by one WAN link, each with its engine
// set to the other as its peer.
func pair(t testing.TB) (a, b *gateway) {
	t.Helper()
	env := netnstest.NewPrefixed(t, "sbwg")
	a, b = newGateway(t, env, "a"), newGateway(t, env, "b")
	link(t, a, b, 10)
	a.set(t, b)
	b.set(t, a)
	return a, b
}
