package server_test

import (
	"context"
	"crypto"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"switchboard/internal/idco"
	"switchboard/internal/idco/client"
	"switchboard/internal/token"
)

// TestRegistrationNameConflict: a cluster's side of a network belongs to
// the local Network (namespace/name) that registered it. Another Network of
// the same name in another namespace of that cluster is refused with 409,
// naming the holder's cluster and namespace, and changes nothing: the
// holder's access list, local VNI and authorizations stay, and its
// deregistration does not touch the holder's either. Other clusters, and
// the holder itself, register as before; once the holder deregisters, the
// name is free.
func TestRegistrationNameConflict(t *testing.T) {
	forEachBackend(t, func(t *testing.T, x *api) {
		ctx := context.Background()
		key, pub, _ := x.seedAlice(t)
		bobKey, err := token.GenerateKey("")
		must(t, err)
		bobPub, err := token.MarshalPublicKeyPEM(bobKey.Public())
		must(t, err)
		must(t, x.admin.AddUser(ctx, "bob"))
		_, err = x.admin.AddKey(ctx, "bob", bobPub)
		must(t, err)
		alice := []idco.AccessEntry{{User: "alice", PublicKeyPEM: string(pub)}}
		bob := []idco.AccessEntry{{User: "bob", PublicKeyPEM: string(bobPub)}}
		sign := func(k crypto.Signer, user string) string {
			t.Helper()
			raw, err := token.Sign(token.Claims{Network: "n", User: user, Expiry: time.Now().Add(time.Hour)}, k)
			must(t, err)
			return raw
		}

		vni, err := x.a.RegisterNetwork(ctx, "a", "n", idco.NetworkRegistration{Namespace: "team", Name: "n", LocalVNI: 10, AccessList: alice})
		must(t, err)
		_, err = x.b.RegisterNetwork(ctx, "b", "n", idco.NetworkRegistration{Namespace: "elsewhere", Name: "n", LocalVNI: 20, AccessList: alice})
		must(t, err) // another cluster's side may live in any namespace
		da, err := x.a.Authorize(ctx, "a", idco.PodAuthorization{Network: "n", Namespace: "team", Pod: "pa", Token: sign(key, "alice")})
		must(t, err)
		if !da.Allowed {
			t.Fatalf("alice on the holder's network: %+v, want allowed", da)
		}
		before, err := x.a.Authorizations(ctx, "a", 0, 0)
		must(t, err)

		_, err = x.a.RegisterNetwork(ctx, "a", "n", idco.NetworkRegistration{Namespace: "intruder", Name: "n", LocalVNI: 11, AccessList: bob})
		var answer *client.Error
		if !errors.As(err, &answer) || answer.Status != http.StatusConflict || answer.Reason != idco.ReasonNameConflict {
			t.Fatalf("a second Network of the same name in another namespace: %v, want 409 %s", err, idco.ReasonNameConflict)
		}
		for _, want := range []string{`cluster "a"`, `namespace "team"`, "team/n", "intruder/n"} {
			if !strings.Contains(answer.Message, want) {
				t.Errorf("conflict answer %q does not name %s", answer.Message, want)
			}
		}
		if !errors.Is(err, idco.ErrConflict) {
			t.Errorf("conflict %v does not match idco.ErrConflict", err)
		}
		holderKept := func(when string) {
			t.Helper()
			regs, err := x.svc.Registrations(ctx, "n")
			must(t, err)
			if len(regs) != 2 || regs[0].Cluster != "a" || regs[0].Namespace != "team" || regs[0].LocalVNI != 10 ||
				len(regs[0].AccessList) != 1 || regs[0].AccessList[0].User != "alice" {
				t.Errorf("%s: registrations %+v, want a's held by team/n with alice's list, untouched", when, regs)
			}
			l, err := x.a.Authorizations(ctx, "a", before.Revision, 0)
			must(t, err)
			if len(l.Active) != 1 || l.Active[0].ID != da.AuthorizationID || len(l.Revoked) != 0 {
				t.Errorf("%s: cluster a's authorizations %+v, want %s active and nothing revoked", when, l, da.AuthorizationID)
			}
		}
		holderKept("after the refused registration")
		d, err := x.a.Authorize(ctx, "a", idco.PodAuthorization{Network: "n", Namespace: "intruder", Pod: "pb", Token: sign(bobKey, "bob")})
		must(t, err)
		if d.Allowed || d.Reason != idco.ReasonNotInAccessList {
			t.Errorf("bob, on the intruder's list only: %+v, want refused with %s", d, idco.ReasonNotInAccessList)
		}
		es, err := x.admin.Audit(ctx, idco.AuditFilter{Network: "n", Cluster: "a"})
		must(t, err)
		if len(es) == 0 || es[0].Action != "authorize" || len(es) < 2 || es[1].Action != "register-network" || es[1].Allowed ||
			es[1].Reason != idco.ReasonNameConflict || !strings.HasPrefix(es[1].Subject, "intruder/n ") {
			t.Errorf("audit of network n in a (newest first) = %+v, want the refused registration of intruder/n", es)
		}

		// The intruder's Network going away deregisters nothing.
		must(t, x.a.DeregisterNetwork(ctx, "a", "n", idco.LocalNetwork{Namespace: "intruder", Name: "n"}))
		holderKept("after the intruder deregistered")
		// The holder updates its registration as before.
		again, err := x.a.RegisterNetwork(ctx, "a", "n", idco.NetworkRegistration{Namespace: "team", Name: "n", LocalVNI: 10, AccessList: alice})
		must(t, err)
		if again != vni {
			t.Errorf("the holder registering again got VNI %d, want %d", again, vni)
		}
		holderKept("after the holder registered again")

		// Once the holder deregisters, the name is free in a.
		must(t, x.a.DeregisterNetwork(ctx, "a", "n", idco.LocalNetwork{Namespace: "team", Name: "n"}))
		if _, err := x.a.RegisterNetwork(ctx, "a", "n", idco.NetworkRegistration{Namespace: "intruder", Name: "n", LocalVNI: 11, AccessList: bob}); err != nil {
			t.Errorf("registering after the holder deregistered: %v, want success", err)
		}
	})
}
