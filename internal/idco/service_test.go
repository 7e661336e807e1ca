package idco_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"switchboard/internal/idco"
	"switchboard/internal/token"
)

func TestRegisterNetwork(t *testing.T) {
	forEachBackend(t, func(t *testing.T, f *fixture) {
		alice := f.addUser("alice")
		v1 := f.register("a", "net1", 100, alice)
		if again := f.register("a", "net1", 100, alice); again != v1 {
			t.Errorf("re-registering net1 gave VNI %d, want the same %d", again, v1)
		}
		if other := f.register("b", "net1", 200); other != v1 {
			t.Errorf("net1 in cluster b got VNI %d, want the network's %d", other, v1)
		}
		v2 := f.register("a", "net2", 101)
		if v2 == v1 {
			t.Errorf("net1 and net2 share inter VNI %d", v1)
		}
		if v1 < idco.DefaultVNIMin || v2 < idco.DefaultVNIMin {
			t.Errorf("VNIs %d, %d below the inter-cluster range %d", v1, v2, idco.DefaultVNIMin)
		}
		_, err := f.svc.RegisterNetwork(f.ctx, idco.Registration{Cluster: "a", Network: "net3", Namespace: "n", Name: "x", LocalVNI: 1,
			AccessList: []idco.AccessEntry{{User: "bob", PublicKeyPEM: "not a key"}}})
		if !errors.Is(err, idco.ErrInvalid) {
			t.Errorf("bad access list key: err %v, want ErrInvalid", err)
		}
		if e := f.lastAudit("register-network"); e.Network != "net2" || !e.Allowed {
			t.Errorf("last register-network audit = %+v", e)
		}
	})
}

func TestAuthorize(t *testing.T) {
	forEachBackend(t, func(t *testing.T, f *fixture) {
		alice, bob, carol := f.addUser("alice"), f.addUser("bob"), f.addUser("carol")
		stranger := f.newKey("stranger")
		f.register("a", "listed", 100, alice, bob) // both lists hold alice; b's lacks bob
		f.register("b", "listed", 200, alice, carol)
		f.register("a", "open", 101) // open in both: permissions decide
		f.register("b", "open", 201)
		f.register("a", "aonly", 102)
		f.must(f.svc.Grant(f.ctx, "alice", "open"))
		revoked := f.addUser("dave")
		f.register("a", "dnet", 103, revoked)
		f.must(f.svc.RevokeKey(f.ctx, revoked.fp))

		forged := f.sign(alice, "listed")
		forged = forged[:len(forged)-4] + strings.Repeat("A", 4)
		impostor := f.newKey("alice") // alice's name, another key
		tests := []struct {
			name, cluster, network, token string
			reason                        string
			refusedBy                     string
		}{
			{"allowed by both access lists", "a", "listed", f.sign(alice, "listed"), "", ""},
			{"allowed by permission", "b", "open", f.sign(alice, "open"), "", ""},
			{"forged signature", "a", "listed", forged, string(token.ReasonForged), ""},
			{"signed by an unregistered key", "a", "listed", f.sign(impostor, "listed"), string(token.ReasonForged), ""},
			{"expired", "a", "listed", f.sign(alice, "listed", func(c *token.Claims) {
				c.IssuedAt, c.Expiry = time.Now().Add(-2*time.Hour), time.Now().Add(-time.Hour)
			}), string(token.ReasonExpired), ""},
			{"wrong network", "a", "listed", f.sign(alice, "open"), string(token.ReasonWrongNetwork), ""},
			{"wrong cluster", "a", "listed", f.sign(alice, "listed", func(c *token.Claims) { c.Clusters = []string{"b"} }), string(token.ReasonWrongCluster), ""},
			{"unknown user", "a", "listed", f.sign(stranger, "listed"), string(token.ReasonUnknownUser), ""},
			{"revoked key", "a", "dnet", f.sign(revoked, "dnet"), string(token.ReasonRevokedKey), ""},
			{"not in the other cluster's access list", "a", "listed", f.sign(bob, "listed"), idco.ReasonNotInAccessList, "b"},
			{"open list without permission", "a", "open", f.sign(carol, "open"), idco.ReasonNoPermission, "a"},
			{"not registered in the requesting cluster", "b", "aonly", f.sign(alice, "aonly"), idco.ReasonNotRegistered, ""},
			{"malformed", "a", "listed", "garbage", string(token.ReasonMalformed), ""},
		}
		for i, tc := range tests {
			pod := "pod" + string(rune('a'+i))
			d := f.authorize(tc.cluster, tc.network, pod, tc.token)
			e := f.lastAudit("authorize")
			want := tc.reason == ""
			if d.Allowed != want || d.Reason != tc.reason || d.Cluster != tc.refusedBy {
				t.Errorf("%s: decision %+v, want allowed=%v reason %q cluster %q", tc.name, d, want, tc.reason, tc.refusedBy)
			}
			if e.Allowed != want || e.Reason != tc.reason || e.Subject != "default/"+pod || e.Network != tc.network || e.Cluster != tc.cluster {
				t.Errorf("%s: audit entry %+v does not record the decision", tc.name, e)
			}
			if want && (d.AuthorizationID == "" || d.Expires.IsZero()) {
				t.Errorf("%s: allowed without an authorization id or expiry: %+v", tc.name, d)
			}
			if !want && d.Detail == "" {
				t.Errorf("%s: refusal without a detail", tc.name)
			}
		}
		l, err := f.svc.Authorizations(f.ctx, "a", 0, 0)
		f.must(err)
		if len(l.Active) != 1 || l.Active[0].Network != "listed" || l.Active[0].KeyID != alice.fp {
			t.Errorf("cluster a's active authorizations = %+v, want one on listed with alice's key", l.Active)
		}
	})
}

func TestNonceReuseAcrossPods(t *testing.T) {
	forEachBackend(t, func(t *testing.T, f *fixture) {
		alice := f.addUser("alice")
		f.register("a", "n", 100, alice)
		raw := f.sign(alice, "n")
		d1, d2 := f.authorize("a", "n", "p1", raw), f.authorize("a", "n", "p2", raw)
		if !d1.Allowed || !d2.Allowed || d1.AuthorizationID == d2.AuthorizationID {
			t.Fatalf("same token for two pods: %+v, %+v; want two authorizations", d1, d2)
		}
		if !strings.Contains(d2.Detail, "used before by 1") {
			t.Errorf("second use detail %q does not record the reuse", d2.Detail)
		}
		// Authorizing the same pod again replaces its authorization.
		d3 := f.authorize("a", "n", "p1", raw)
		l, err := f.svc.Authorizations(f.ctx, "a", 0, 0)
		f.must(err)
		if !d3.Allowed || len(l.Active) != 2 {
			t.Errorf("re-authorizing p1: %+v, active %d, want 2", d3, len(l.Active))
		}
	})
}

func TestRevocations(t *testing.T) {
	forEachBackend(t, func(t *testing.T, f *fixture) {
		alice, bob := f.addUser("alice"), f.addUser("bob")
		f.register("a", "listed", 100, alice, bob)
		f.register("a", "open", 101)
		f.must(f.svc.Grant(f.ctx, "bob", "open"))
		byKey := f.authorize("a", "listed", "p1", f.sign(alice, "listed"))
		byList := f.authorize("a", "listed", "p2", f.sign(bob, "listed"))
		byPerm := f.authorize("a", "open", "p3", f.sign(bob, "open"))
		for _, d := range []idco.Decision{byKey, byList, byPerm} {
			if !d.Allowed {
				t.Fatalf("setup authorization refused: %+v", d)
			}
		}
		start, err := f.svc.Authorizations(f.ctx, "a", 0, 0)
		f.must(err)

		f.must(f.svc.RevokePermission(f.ctx, "bob", "open"))
		f.register("a", "listed", 100, alice) // bob leaves the list
		f.must(f.svc.RevokeKey(f.ctx, alice.fp))

		l, err := f.svc.Authorizations(f.ctx, "a", start.Revision, 0)
		f.must(err)
		if len(l.Active) != 0 {
			t.Errorf("active after revocations: %+v", l.Active)
		}
		got := map[string]string{}
		for _, a := range l.Revoked {
			got[a.ID] = a.RevokedReason
		}
		want := map[string]string{byKey.AuthorizationID: string(token.ReasonRevokedKey),
			byList.AuthorizationID: idco.ReasonNotInAccessList, byPerm.AuthorizationID: idco.ReasonNoPermission}
		for id, r := range want {
			if got[id] != r {
				t.Errorf("authorization %s revoked with %q, want %q (all: %v)", id, got[id], r, got)
			}
		}
		if e := f.lastAudit("revoke-authorization"); e.Reason != string(token.ReasonRevokedKey) || e.Allowed {
			t.Errorf("last revoke-authorization audit = %+v", e)
		}
	})
}

func TestRevocationWakesLongPoll(t *testing.T) {
	forEachBackend(t, func(t *testing.T, f *fixture) {
		alice := f.addUser("alice")
		f.register("a", "n", 100, alice)
		d := f.authorize("a", "n", "p", f.sign(alice, "n"))
		l, err := f.svc.Authorizations(f.ctx, "a", 0, 0)
		f.must(err)
		type result struct {
			l   idco.AuthorizationList
			err error
			at  time.Time
		}
		got := make(chan result, 1)
		go func() {
			l, err := f.svc.Authorizations(f.ctx, "a", l.Revision, 30*time.Second)
			got <- result{l, err, time.Now()}
		}()
		// The poll must not return before the change.
		select {
		case r := <-got:
			t.Fatalf("long poll returned before any change: %+v", r)
		case <-time.After(100 * time.Millisecond):
		}
		revokedAt := time.Now()
		f.must(f.svc.RevokeKey(f.ctx, alice.fp))
		select {
		case r := <-got:
			f.must(r.err)
			if len(r.l.Active) != 0 || len(r.l.Revoked) != 1 || r.l.Revoked[0].ID != d.AuthorizationID {
				t.Errorf("long poll after revocation = %+v", r.l)
			}
			t.Logf("long poll returned %v after the revocation", r.at.Sub(revokedAt))
		case <-time.After(25 * time.Second):
			t.Fatal("long poll (30 s) did not answer the revocation")
		}
	})
}

func TestRestartKeepsState(t *testing.T) {
	forEachBackend(t, func(t *testing.T, f *fixture) {
		alice := f.addUser("alice")
		f.must(f.svc.SetEdgeEndpoint(f.ctx, "a", idco.EdgeEndpointRequest{Endpoint: "198.18.0.1:4789"}))
		f.must(f.svc.SetEdgeEndpoint(f.ctx, "b", idco.EdgeEndpointRequest{Endpoint: "198.18.0.2:4789"}))
		vni := f.register("a", "n", 100, alice)
		f.register("b", "n", 200, alice)
		f.must(f.svc.Grant(f.ctx, "alice", "other"))
		da := f.authorize("a", "n", "pa", f.sign(alice, "n"))
		db := f.authorize("b", "n", "pb", f.sign(alice, "n"))
		before, err := f.svc.EdgeConfig(f.ctx, "a", 0, 0)
		f.must(err)

		f.restart()

		after, err := f.svc.EdgeConfig(f.ctx, "a", 0, 0)
		f.must(err)
		if !equalJSON(t, before, after) {
			t.Errorf("edge config changed across restart:\nbefore %+v\nafter  %+v", before, after)
		}
		if again := f.register("a", "n", 100, alice); again != vni {
			t.Errorf("VNI after restart %d, want %d", again, vni)
		}
		keys, err := f.svc.Keys(f.ctx, "alice")
		f.must(err)
		if len(keys) != 1 || keys[0].Fingerprint != alice.fp {
			t.Errorf("alice's keys after restart = %+v", keys)
		}
		l, err := f.svc.Authorizations(f.ctx, "b", 0, 0)
		f.must(err)
		if len(l.Active) != 1 || l.Active[0].ID != db.AuthorizationID {
			t.Errorf("cluster b's authorizations after restart = %+v, want %s", l.Active, db.AuthorizationID)
		}
		f.must(f.svc.Release(f.ctx, "a", da.AuthorizationID))
		f.must(f.svc.Release(f.ctx, "a", da.AuthorizationID)) // idempotent
		if err := f.svc.Release(f.ctx, "a", db.AuthorizationID); !errors.Is(err, idco.ErrNotFound) {
			t.Errorf("cluster a releasing b's authorization: err %v, want ErrNotFound", err)
		}
		if d := f.authorize("a", "n", "px", f.sign(alice, "other")); d.Reason != string(token.ReasonWrongNetwork) {
			t.Errorf("after restart, token for another network: %+v", d)
		}
		if _, err := f.svc.AddKey(f.ctx, "alice", []byte(alice.pem)); err != nil {
			t.Errorf("re-adding the same key: %v", err)
		}
		bob := f.addUser("bob")
		if _, err := f.svc.AddKey(f.ctx, "bob", []byte(alice.pem)); !errors.Is(err, idco.ErrConflict) {
			t.Errorf("adding alice's key to bob: err %v, want ErrConflict", err)
		}
		_ = bob
	})
}

func TestExpire(t *testing.T) {
	forEachBackend(t, func(t *testing.T, f *fixture) {
		alice := f.addUser("alice")
		f.register("a", "n", 100, alice)
		d := f.authorize("a", "n", "p", f.sign(alice, "n", func(c *token.Claims) { c.Expiry = time.Now().Add(-10 * time.Second) }))
		if !d.Allowed { // within the verifier's leeway
			t.Fatalf("token within leeway refused: %+v", d)
		}
		n, err := f.svc.Expire(f.ctx)
		f.must(err)
		l, err := f.svc.Authorizations(f.ctx, "a", 0, 0)
		f.must(err)
		if n != 1 || len(l.Active) != 0 {
			t.Errorf("Expire revoked %d, active %+v; want 1 and none", n, l.Active)
		}
	})
}

// TestDeregisterNetwork: a cluster's deregistration removes its side of the
// network only, ends its pods' authorizations (the long poll shows them
// revoked) and no longer holds the others to its access list; doing it
// again, or for what is unknown, changes nothing.
func TestDeregisterNetwork(t *testing.T) {
	forEachBackend(t, func(t *testing.T, f *fixture) {
		alice, bob := f.addUser("alice"), f.addUser("bob")
		vni := f.register("a", "n", 100, alice, bob)
		f.register("b", "n", 200, alice) // b's list lacks bob
		if d := f.authorize("a", "n", "pbob", f.sign(bob, "n")); d.Reason != idco.ReasonNotInAccessList || d.Cluster != "b" {
			t.Fatalf("bob while b has the network: %+v, want refused by b's access list", d)
		}
		da, db := f.authorize("a", "n", "pa", f.sign(alice, "n")), f.authorize("b", "n", "pb", f.sign(alice, "n"))
		start, err := f.svc.Authorizations(f.ctx, "b", 0, 0)
		f.must(err)
		polled := make(chan idco.AuthorizationList, 1)
		go func() {
			l, err := f.svc.Authorizations(f.ctx, "b", start.Revision, 30*time.Second)
			if err != nil {
				t.Error(err)
			}
			polled <- l
		}()

		f.must(f.svc.DeregisterNetwork(f.ctx, idco.Deregistration{Network: "n", Cluster: "b", Namespace: "ns-b", Name: "n"}))
		select {
		case l := <-polled:
			if len(l.Active) != 0 || len(l.Revoked) != 1 || l.Revoked[0].ID != db.AuthorizationID || l.Revoked[0].RevokedReason != idco.ReasonNetworkDeregistered {
				t.Errorf("cluster b's long poll after deregistering = %+v, want %s revoked with %s", l, db.AuthorizationID, idco.ReasonNetworkDeregistered)
			}
		case <-time.After(25 * time.Second):
			t.Fatal("cluster b's long poll (30 s) did not answer the deregistration")
		}
		if got := f.registeredIn("n"); got != "a" {
			t.Errorf("network n registered in %q after b deregistered, want a", got)
		}
		if l, err := f.svc.Authorizations(f.ctx, "a", 0, 0); err != nil || len(l.Active) != 1 || l.Active[0].ID != da.AuthorizationID {
			t.Errorf("cluster a's authorizations = %+v, %v; want %s kept", l.Active, err, da.AuthorizationID)
		}
		if d := f.authorize("a", "n", "pbob2", f.sign(bob, "n")); !d.Allowed {
			t.Errorf("bob after b deregistered: %+v, want allowed (b's old list no longer counts)", d)
		}
		if d := f.authorize("b", "n", "pb2", f.sign(alice, "n")); d.Reason != idco.ReasonNotRegistered {
			t.Errorf("a pod of b after b deregistered: %+v, want %s", d, idco.ReasonNotRegistered)
		}
		e := f.lastAudit("deregister-network")
		if e.Network != "n" || e.Cluster != "b" || !e.Allowed || e.Subject != "ns-b/n vni=200" {
			t.Errorf("deregister-network audit = %+v", e)
		}

		before := len(f.audits("deregister-network"))
		for _, d := range []idco.Deregistration{
			{Network: "n", Cluster: "b"},                         // again
			{Network: "nowhere", Cluster: "a"},                   // unknown network
			{Network: "n", Cluster: "a", Namespace: "elsewhere"}, // another local network's
			{Network: "n", Cluster: "a", Name: "other"},
		} {
			if err := f.svc.DeregisterNetwork(f.ctx, d); err != nil {
				t.Errorf("DeregisterNetwork(%+v) = %v, want success", d, err)
			}
		}
		if n := len(f.audits("deregister-network")); n != before || f.registeredIn("n") != "a" {
			t.Errorf("no-op deregistrations changed something: %d audit entries (want %d), registered in %q", n, before, f.registeredIn("n"))
		}
		if err := f.svc.DeregisterNetwork(f.ctx, idco.Deregistration{Network: "n"}); !errors.Is(err, idco.ErrInvalid) {
			t.Errorf("deregistering without a cluster: %v, want ErrInvalid", err)
		}
		if again := f.register("b", "n", 200, alice); again != vni {
			t.Errorf("b registering n again got VNI %d, want the network's %d", again, vni)
		}
	})
}
