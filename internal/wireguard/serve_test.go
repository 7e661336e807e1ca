package wireguard

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"strings"
	"testing"
	"time"

	"switchboard/internal/netnstest"
)

// served runs Serve for g's namespace under a per-run device name (its
// UAPI socket lives in the host's /var/run/wireguard), stopped at cleanup,
// and returns g's Config for an External engine, once the device answers.
func served(t *testing.T, g *gateway, name string, peers ...*gateway) Config {
	t.Helper()
	c := g.config(t, peers...)
	c.Name, c.Implementation = name, External
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- Serve(ctx, c, nil) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve %s in %s: %v", name, g.name, err)
		}
	})
	deadline := time.Now().Add(30 * time.Second)
	for {
		err := g.eng.Set(context.Background(), c)
		if err == nil {
			return c
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: the served device %s never answered: %v", g.name, name, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func testDevName(t *testing.T) string {
	b := make([]byte, 2)
	_, _ = rand.Read(b)
	return "sbrs" + hex.EncodeToString(b) // with a letter and the injector's "r": 10 bytes
}

// TestExternalDeviceOutlivesItsEngine: with the device served by another
// process (here Serve), an engine that goes away and a new one that
// adopts the device lose no packet of a 100/s ping through the tunnel,
// and the device and its session are the same ones afterwards.
func TestExternalDeviceOutlivesItsEngine(t *testing.T) {
	netnstest.RequireRoot(t)
	env := netnstest.NewPrefixed(t, "sbrs")
	a, b := newGateway(t, env, "a"), newGateway(t, env, "b")
	link(t, a, b, 10)
	// The namespaces share this host's /var/run/wireguard: one name each.
	name := testDevName(t)
	ca := served(t, a, name+"a", b)
	cb := served(t, b, name+"b", a)
	a.reaches(t, b.addr(t))
	index := func(g *gateway) int {
		l, err := g.ns.Handle(t).LinkByName(name + g.name)
		if err != nil {
			t.Fatalf("%s has no %s: %v", g.name, name+g.name, err)
		}
		return l.Attrs().Index
	}
	before := index(a)
	hs := a.status(t).Peers[0].LastHandshake

	wait := a.ns.PingDuring(t, b.addr(t), 300)
	for _, r := range []struct {
		g *gateway
		c Config
	}{{a, ca}, {b, cb}} {
		if err := r.g.eng.Close(); err != nil {
			t.Fatal(err)
		}
		r.g.eng = New(nil)
		if err := r.g.eng.Set(context.Background(), r.c); err != nil {
			t.Fatalf("adopt %s in %s: %v", r.c.Name, r.g.name, err)
		}
	}
	sent, received, out, err := wait()
	if err != nil || sent == 0 || received != sent {
		t.Fatalf("100/s ping while both engines restarted: %d sent, %d received (%v)\n%s", sent, received, err, out)
	}
	t.Logf("100/s ping while both engines restarted: %d sent, %d received", sent, received)
	if after := index(a); after != before {
		t.Errorf("the device was made again (ifindex %d -> %d), want it adopted", before, after)
	}
	if got := a.status(t).Peers[0].LastHandshake; !got.Equal(hs) {
		t.Logf("handshake %s -> %s (a rekey may fall in the run)", hs, got)
	}
}

// TestExternalWaitsForItsOwner: an External engine does not make the
// device; it fails naming the owner to start, and Serve refuses a name
// that another device holds.
func TestExternalWaitsForItsOwner(t *testing.T) {
	netnstest.RequireRoot(t)
	env := netnstest.NewPrefixed(t, "sbrs")
	g := newGateway(t, env, "a")
	c := g.config(t)
	c.Name, c.Implementation = testDevName(t), External
	err := g.eng.Set(context.Background(), c)
	if err == nil || !strings.Contains(err.Error(), "switchboard-tunnel") {
		t.Fatalf("Set of a missing external device: %v, want an error naming switchboard-tunnel", err)
	}
	if _, err := g.ns.Handle(t).LinkByName(c.Name); err == nil {
		t.Fatalf("an External engine made %s", c.Name)
	}
	served(t, g, c.Name)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err = Serve(ctx, c, nil)
	if err == nil || errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "exists") {
		t.Fatalf("second Serve of %s: %v, want a refusal", c.Name, err)
	}
}
