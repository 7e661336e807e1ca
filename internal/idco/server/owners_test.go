package server_test

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"switchboard/internal/idco"
	"switchboard/internal/idco/client"
	"switchboard/internal/token"
)

// TestOwnersAndEndAPI: only an admin adds owners and ends an
// authorization; the end reaches the cluster as a revocation with reason
// Ended, audited with the admin as actor.
func TestOwnersAndEndAPI(t *testing.T) {
	forEachBackend(t, func(t *testing.T, x *api) {
		ctx := context.Background()
		key, pub, _ := x.seedAlice(t)
		_, err := x.a.RegisterNetwork(ctx, "a", "n", idco.NetworkRegistration{Namespace: "t", Name: "n", LocalVNI: 10,
			AccessList: []idco.AccessEntry{{User: "alice", PublicKeyPEM: string(pub)}}})
		must(t, err)
		raw, err := token.Sign(token.Claims{Network: "n", User: "alice", Expiry: time.Now().Add(time.Hour)}, key)
		must(t, err)
		d, err := x.a.Authorize(ctx, "a", idco.PodAuthorization{Network: "n", Namespace: "t", Pod: "p", Token: raw})
		must(t, err)
		before, err := x.a.Authorizations(ctx, "a", 0, 0)
		must(t, err)

		var ce *client.Error
		if err := x.a.AddOwner(ctx, "alice", "n"); !errors.As(err, &ce) || ce.Status != http.StatusForbidden {
			t.Errorf("cluster adds an owner: %v, want 403", err)
		}
		if err := x.a.EndAuthorization(ctx, d.AuthorizationID); !errors.As(err, &ce) || ce.Status != http.StatusForbidden {
			t.Errorf("cluster ends an authorization: %v, want 403", err)
		}
		must(t, x.admin.AddOwner(ctx, "alice", "n"))
		if ok, err := x.svc.Owns(ctx, "alice", "n"); err != nil || !ok {
			t.Errorf("alice owns n: %v, %v; want true", ok, err)
		}
		must(t, x.admin.EndAuthorization(ctx, d.AuthorizationID))
		must(t, x.admin.EndAuthorization(ctx, d.AuthorizationID)) // idempotent
		if err := x.admin.EndAuthorization(ctx, "az-missing"); !errors.Is(err, idco.ErrNotFound) {
			t.Errorf("end a missing authorization: %v, want not found", err)
		}
		l, err := x.a.Authorizations(ctx, "a", before.Revision, 0)
		must(t, err)
		if len(l.Active) != 0 || len(l.Revoked) != 1 || l.Revoked[0].RevokedReason != idco.ReasonEnded {
			t.Errorf("cluster a's authorizations after the end = %+v, want one revoked with %s", l, idco.ReasonEnded)
		}
		es, err := x.admin.Audit(ctx, idco.AuditFilter{Network: "n", Limit: 1})
		must(t, err)
		if len(es) != 1 || es[0].Action != "revoke-authorization" || es[0].Actor != "admin/root" || es[0].Reason != idco.ReasonEnded {
			t.Errorf("audit = %+v, want the admin's revoke-authorization", es)
		}
		must(t, x.admin.RemoveOwner(ctx, "alice", "n"))
		if ok, _ := x.svc.Owns(ctx, "alice", "n"); ok {
			t.Error("alice still owns n after owner-remove")
		}
	})
}
