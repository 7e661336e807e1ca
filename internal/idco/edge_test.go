package idco_test

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"switchboard/internal/idco"
)

func equalJSON(t *testing.T, a, b any) bool {
	t.Helper()
	ja, err := json.Marshal(a)
	if err != nil {
		t.Fatal(err)
	}
	jb, err := json.Marshal(b)
	if err != nil {
		t.Fatal(err)
	}
	return string(ja) == string(jb)
}

// edgeText renders an edge config without its revision, one network a line:
// "net vni=V local=ns/name/LV if=I peers=c@ep,...".
func (f *fixture) edgeText(cluster string) string {
	f.t.Helper()
	c, err := f.svc.EdgeConfig(f.ctx, cluster, 0, 0)
	f.must(err)
	s := ""
	for _, n := range c.Networks {
		s += n.Network + " local=" + n.Namespace + "/" + n.Name + " if=" + n.Edge.Interface + " peers="
		for i, p := range n.Peers {
			if i > 0 {
				s += ","
			}
			s += p.Cluster + "@" + p.Endpoint
		}
		s += "\n"
	}
	return s
}

func TestEdgeConfig(t *testing.T) {
	forEachBackend(t, func(t *testing.T, f *fixture) {
		alice := f.addUser("alice")
		f.must(f.svc.SetEdgeEndpoint(f.ctx, "a", idco.EdgeEndpointRequest{Endpoint: "198.18.0.1:4789"}))
		f.must(f.svc.SetEdgeEndpoint(f.ctx, "b", idco.EdgeEndpointRequest{Endpoint: "198.18.0.2:4789"}))
		vni := f.register("a", "n", 100, alice)
		f.register("b", "n", 200, alice)
		check := func(step, wantA, wantB string) {
			t.Helper()
			if got := f.edgeText("a"); got != wantA {
				t.Errorf("%s: edge a =\n%s\nwant\n%s", step, got, wantA)
			}
			if got := f.edgeText("b"); got != wantB {
				t.Errorf("%s: edge b =\n%s\nwant\n%s", step, got, wantB)
			}
		}
		check("registered only: nothing connects", "", "")

		start, err := f.svc.EdgeConfig(f.ctx, "b", 0, 0)
		f.must(err)
		woke := make(chan int64, 1)
		go func() {
			c, err := f.svc.EdgeConfig(f.ctx, "b", start.Revision, 30*time.Second)
			if err != nil {
				woke <- -1
				return
			}
			woke <- c.Revision
		}()
		da := f.authorize("a", "n", "pa", f.sign(alice, "n"))
		if rev := <-woke; rev <= start.Revision {
			t.Errorf("edge b's long poll returned revision %d, want > %d", rev, start.Revision)
		}
		check("authorized in a only", "n local=ns-a/n if=ned-n peers=\n", "")

		f.authorize("b", "n", "pb", f.sign(alice, "n"))
		check("authorized in both", "n local=ns-a/n if=ned-n peers=b@198.18.0.2:4789\n", "n local=ns-b/n if=ned-n peers=a@198.18.0.1:4789\n")
		c, err := f.svc.EdgeConfig(f.ctx, "a", 0, 0)
		f.must(err)
		if c.Networks[0].VNI != vni || c.Networks[0].LocalVNI != 100 {
			t.Errorf("edge a's network VNIs = %d/%d, want %d/100", c.Networks[0].VNI, c.Networks[0].LocalVNI, vni)
		}

		f.must(f.svc.Release(f.ctx, "a", da.AuthorizationID))
		check("released in a", "", "n local=ns-b/n if=ned-n peers=\n")
		f.authorize("a", "n", "pa2", f.sign(alice, "n"))
		f.must(f.svc.RevokeKey(f.ctx, alice.fp))
		check("key revoked", "", "")
	})
}

// TestDeregisterNetworkEdgeConfig: when a cluster deregisters a network,
// every edge's long poll answers: the other edges drop it as a peer, its
// own edge drops the network.
func TestDeregisterNetworkEdgeConfig(t *testing.T) {
	forEachBackend(t, func(t *testing.T, f *fixture) {
		alice := f.addUser("alice")
		f.must(f.svc.SetEdgeEndpoint(f.ctx, "a", idco.EdgeEndpointRequest{Endpoint: "198.18.0.1:4789"}))
		f.must(f.svc.SetEdgeEndpoint(f.ctx, "b", idco.EdgeEndpointRequest{Endpoint: "198.18.0.2:4789"}))
		f.register("a", "n", 100, alice)
		f.register("b", "n", 200, alice)
		f.authorize("a", "n", "pa", f.sign(alice, "n"))
		f.authorize("b", "n", "pb", f.sign(alice, "n"))
		if a, b := f.edgeText("a"), f.edgeText("b"); a != "n local=ns-a/n if=ned-n peers=b@198.18.0.2:4789\n" || b != "n local=ns-b/n if=ned-n peers=a@198.18.0.1:4789\n" {
			t.Fatalf("before: edge a =\n%s\nedge b =\n%s\nwant both connected", a, b)
		}
		start, err := f.svc.EdgeConfig(f.ctx, "a", 0, 0)
		f.must(err)
		woke := map[string]chan int64{"a": make(chan int64, 1), "b": make(chan int64, 1)}
		for c, ch := range woke {
			go func() {
				cfg, err := f.svc.EdgeConfig(f.ctx, c, start.Revision, 30*time.Second)
				if err != nil {
					t.Error(err)
				}
				ch <- cfg.Revision
			}()
		}

		f.must(f.svc.DeregisterNetwork(f.ctx, idco.Deregistration{Network: "n", Cluster: "b"}))
		for c, ch := range woke {
			select {
			case rev := <-ch:
				if rev <= start.Revision {
					t.Errorf("edge %s's long poll returned revision %d, want > %d", c, rev, start.Revision)
				}
			case <-time.After(25 * time.Second):
				t.Fatalf("edge %s's long poll (30 s) did not answer the deregistration", c)
			}
		}
		if a, b := f.edgeText("a"), f.edgeText("b"); a != "n local=ns-a/n if=ned-n peers=\n" || b != "" {
			t.Errorf("after b deregistered: edge a =\n%s\nedge b =\n%s\nwant a without peers, b without the network", a, b)
		}
	})
}

// TestEdgePublicKeys: each edge's WireGuard public key reaches exactly the
// edges it shares an active network with, follows a rotation, and a key
// that is not one is refused with the fix.
func TestEdgePublicKeys(t *testing.T) {
	keyA, keyB, keyC := wgKey(1), wgKey(2), wgKey(3)
	forEachBackend(t, func(t *testing.T, f *fixture) {
		alice := f.addUser("alice")
		f.must(f.svc.SetEdgeEndpoint(f.ctx, "a", idco.EdgeEndpointRequest{Endpoint: "198.18.0.1:51820", PublicKey: keyA}))
		f.must(f.svc.SetEdgeEndpoint(f.ctx, "b", idco.EdgeEndpointRequest{Endpoint: "198.18.0.2:51820", PublicKey: keyB}))
		f.must(f.svc.SetEdgeEndpoint(f.ctx, "c", idco.EdgeEndpointRequest{Endpoint: "198.18.0.3:51820", PublicKey: keyC}))
		f.register("a", "n", 100, alice)
		f.register("b", "n", 200, alice)
		f.register("c", "m", 300, alice)
		f.authorize("a", "n", "pa", f.sign(alice, "n"))
		f.authorize("b", "n", "pb", f.sign(alice, "n"))
		f.authorize("c", "m", "pc", f.sign(alice, "m"))
		peerKeys := func(cluster string) map[string]string {
			t.Helper()
			c, err := f.svc.EdgeConfig(f.ctx, cluster, 0, 0)
			f.must(err)
			keys := map[string]string{}
			for _, n := range c.Networks {
				for _, p := range n.Peers {
					keys[p.Cluster] = p.PublicKey
				}
			}
			return keys
		}
		if got := peerKeys("a"); len(got) != 1 || got["b"] != keyB {
			t.Errorf("edge a's peers' keys = %v, want only b's %s", got, keyB)
		}
		if got := peerKeys("c"); len(got) != 0 {
			t.Errorf("edge c, which shares no network, was given peers' keys %v", got)
		}

		before, err := f.svc.EdgeConfig(f.ctx, "a", 0, 0)
		f.must(err)
		rotated := wgKey(4)
		f.must(f.svc.SetEdgeEndpoint(f.ctx, "b", idco.EdgeEndpointRequest{Endpoint: "198.18.0.2:51820", PublicKey: rotated}))
		after, err := f.svc.EdgeConfig(f.ctx, "a", 0, 0)
		f.must(err)
		if after.Revision <= before.Revision || peerKeys("a")["b"] != rotated {
			t.Errorf("after b rotated its key: revision %d -> %d, a sees b's key %q, want a new revision and %s", before.Revision, after.Revision, peerKeys("a")["b"], rotated)
		}

		for _, bad := range []string{"not-a-key", keyA[:43], base64.StdEncoding.EncodeToString(make([]byte, 31)), keyA + "\n", strings.TrimRight(keyA, "=")} {
			err := f.svc.SetEdgeEndpoint(f.ctx, "b", idco.EdgeEndpointRequest{Endpoint: "198.18.0.2:51820", PublicKey: bad})
			if !errors.Is(err, idco.ErrInvalid) || !strings.Contains(err.Error(), "wg pubkey") {
				t.Errorf("public key %q: err = %v, want invalid, naming the fix", bad, err)
			}
		}
		if got := peerKeys("a")["b"]; got != rotated {
			t.Errorf("refused keys changed b's key to %q, want %s kept", got, rotated)
		}
	})
}

// wgKey returns a well-formed WireGuard public key, distinct for each n.
func wgKey(n byte) string {
	k := make([]byte, 32)
	k[0] = n
	return base64.StdEncoding.EncodeToString(k)
}
