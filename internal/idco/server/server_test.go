package server_test

import (
	"context"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"sigs.k8s.io/yaml"

	"switchboard/internal/idco"
	"switchboard/internal/idco/client"
	"switchboard/internal/idco/pki"
	"switchboard/internal/idco/server"
	"switchboard/internal/idco/store/storetest"
	"switchboard/internal/token"
)

// TestOpenAPIMatchesRoutes keeps api/idco/openapi.yaml and the registered
// routes in step, both ways.
func TestOpenAPIMatchesRoutes(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "..", "..", "api", "idco", "openapi.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Paths map[string]map[string]any `json:"paths"`
	}
	if err := yaml.Unmarshal(b, &doc); err != nil {
		t.Fatalf("parse openapi.yaml: %v", err)
	}
	var documented []string
	for path, ops := range doc.Paths {
		for method := range ops {
			switch method {
			case "get", "put", "post", "delete", "patch", "head":
				documented = append(documented, strings.ToUpper(method)+" "+path)
			}
		}
	}
	served := server.New(nil, nil, nil).Routes()
	sort.Strings(documented)
	sort.Strings(served)
	for _, r := range served {
		if !slices.Contains(documented, r) {
			t.Errorf("route %q is served but not in openapi.yaml", r)
		}
	}
	for _, r := range documented {
		if !slices.Contains(served, r) {
			t.Errorf("route %q is in openapi.yaml but not served", r)
		}
	}
}

func status(err error) int {
	var e *client.Error
	if errors.As(err, &e) {
		return e.Status
	}
	return 0
}

func TestMutualTLS(t *testing.T) {
	x := startAPI(t, storetest.SQLite(t))
	ctx := context.Background()
	if err := x.noCert.Healthz(ctx); err != nil {
		t.Errorf("healthz without a certificate: %v", err)
	}
	if _, err := x.noCert.EdgeConfig(ctx, "a", 0, 0); status(err) != http.StatusUnauthorized {
		t.Errorf("edge config without a certificate: %v, want 401", err)
	}
	if err := x.a.RegisterCluster(ctx, "b"); status(err) != http.StatusForbidden {
		t.Errorf("cluster a registering cluster b: %v, want 403", err)
	}
	if _, err := x.a.Authorize(ctx, "b", idco.PodAuthorization{Network: "n", Namespace: "d", Pod: "p", Token: "x"}); status(err) != http.StatusForbidden {
		t.Errorf("cluster a authorizing for b: %v, want 403", err)
	}
	if err := x.a.DeregisterNetwork(ctx, "b", "n", idco.LocalNetwork{}); status(err) != http.StatusForbidden {
		t.Errorf("cluster a deregistering b's network: %v, want 403", err)
	}
	if err := x.noCert.DeregisterNetwork(ctx, "a", "n", idco.LocalNetwork{}); status(err) != http.StatusUnauthorized {
		t.Errorf("deregistering without a certificate: %v, want 401", err)
	}
	if _, err := x.a.EdgeConfig(ctx, "b", 0, 0); status(err) != http.StatusForbidden {
		t.Errorf("cluster a reading b's edge config: %v, want 403", err)
	}
	if err := x.a.AddUser(ctx, "alice"); status(err) != http.StatusForbidden {
		t.Errorf("cluster cert adding a user: %v, want 403", err)
	}
	if _, err := x.a.Audit(ctx, idco.AuditFilter{}); status(err) != http.StatusForbidden {
		t.Errorf("cluster cert reading the audit log: %v, want 403", err)
	}
	if err := x.a.RegisterCluster(ctx, "a"); err != nil {
		t.Errorf("cluster a registering itself: %v", err)
	}
	if err := x.admin.AddUser(ctx, "alice"); err != nil {
		t.Errorf("admin adding a user: %v", err)
	}
	// A certificate from another CA fails the handshake.
	other := t.TempDir()
	if err := pki.Init(other, []string{"127.0.0.1"}); err != nil {
		t.Fatal(err)
	}
	if err := pki.Enrol(other, filepath.Join(other, "c"), pki.Identity{Cluster: "a"}); err != nil {
		t.Fatal(err)
	}
	cfg, err := pki.ClientTLS(filepath.Join(other, "c"))
	if err != nil {
		t.Fatal(err)
	}
	cfg.RootCAs = x.clients["a"].RootCAs
	foreign := client.New(x.url, cfg)
	defer foreign.Close()
	if err := foreign.RegisterCluster(ctx, "a"); err == nil || status(err) != 0 {
		t.Errorf("certificate of a foreign CA: %v, want a TLS error", err)
	}
	// Bodies over the limit are refused.
	big := idco.NetworkRegistration{Namespace: strings.Repeat("x", server.MaxBodyBytes), Name: "n", LocalVNI: 1}
	if _, err := x.a.RegisterNetwork(ctx, "a", "n", big); status(err) != http.StatusRequestEntityTooLarge {
		t.Errorf("oversized body: %v, want 413", err)
	}
	if _, err := x.a.RegisterNetwork(ctx, "a", "n", idco.NetworkRegistration{Namespace: "d", Name: "n"}); !errors.Is(err, idco.ErrInvalid) {
		t.Errorf("registration without a local VNI: %v, want ErrInvalid", err)
	}
}

// TestAPI walks the inter-cluster flow through the HTTPS API on both
// backends.
func TestAPI(t *testing.T) {
	forEachBackend(t, func(t *testing.T, x *api) {
		ctx := context.Background()
		key, pub, fp := x.seedAlice(t)
		list := []idco.AccessEntry{{User: "alice", PublicKeyPEM: string(pub)}}
		vni, err := x.a.RegisterNetwork(ctx, "a", "n", idco.NetworkRegistration{Namespace: "t", Name: "n", LocalVNI: 10, AccessList: list})
		must(t, err)
		_, err = x.b.RegisterNetwork(ctx, "b", "n", idco.NetworkRegistration{Namespace: "t", Name: "n", LocalVNI: 20})
		must(t, err)
		must(t, x.admin.Grant(ctx, "alice", "n")) // b leaves the list open

		raw, err := token.Sign(token.Claims{Network: "n", User: "alice", Expiry: time.Now().Add(time.Hour)}, key)
		must(t, err)
		da, err := x.a.Authorize(ctx, "a", idco.PodAuthorization{Network: "n", Namespace: "t", Pod: "pa", Token: raw})
		must(t, err)
		db, err := x.b.Authorize(ctx, "b", idco.PodAuthorization{Network: "n", Namespace: "t", Pod: "pb", Token: raw})
		must(t, err)
		if !da.Allowed || !db.Allowed {
			t.Fatalf("decisions %+v, %+v; want both allowed", da, db)
		}
		bad, err := x.a.Authorize(ctx, "a", idco.PodAuthorization{Network: "n", Namespace: "t", Pod: "px", Token: raw[:len(raw)-3] + "AAA"})
		must(t, err)
		if bad.Allowed || bad.Reason != string(token.ReasonForged) {
			t.Errorf("tampered token: %+v, want refused Forged", bad)
		}
		cfg, err := x.a.EdgeConfig(ctx, "a", 0, 0)
		must(t, err)
		if len(cfg.Networks) != 1 || cfg.Networks[0].VNI != vni || len(cfg.Networks[0].Peers) != 1 || cfg.Networks[0].Peers[0].Endpoint != "198.18.0.2:4789" {
			t.Errorf("edge config of a = %+v", cfg)
		}
		l, err := x.b.Authorizations(ctx, "b", 0, 0)
		must(t, err)

		// A revocation wakes a long-polling operator.
		got := make(chan idco.AuthorizationList, 1)
		go func() {
			l, err := x.b.Authorizations(ctx, "b", l.Revision, 30*time.Second)
			if err != nil {
				t.Error(err)
			}
			got <- l
		}()
		start := time.Now()
		must(t, x.admin.RevokeKey(ctx, fp))
		select {
		case nl := <-got:
			if len(nl.Active) != 0 || len(nl.Revoked) != 1 || nl.Revoked[0].RevokedReason != string(token.ReasonRevokedKey) {
				t.Errorf("long poll after revocation = %+v", nl)
			}
			t.Logf("revocation reached the long poll after %v", time.Since(start))
		case <-time.After(25 * time.Second):
			t.Fatal("long poll (30 s) did not answer the revocation")
		}
		es, err := x.admin.Audit(ctx, idco.AuditFilter{Network: "n", Limit: 50})
		must(t, err)
		var actors []string
		for _, e := range es {
			if e.Action == "authorize" {
				actors = append(actors, e.Actor)
			}
		}
		if !slices.Contains(actors, "cluster/a") || !slices.Contains(actors, "cluster/b") {
			t.Errorf("authorize audit actors %v, want cluster/a and cluster/b", actors)
		}
		must(t, x.a.Release(ctx, "a", da.AuthorizationID))
		if err := x.a.Release(ctx, "a", db.AuthorizationID); !errors.Is(err, idco.ErrNotFound) {
			t.Errorf("a releasing b's authorization: %v, want not found", err)
		}
	})
}

// TestDeregisterNetworkAPI: a cluster deregisters its side of a network
// through the API, only its own; the other cluster's edge loses it and its
// pods' authorizations end. Deregistering again, or another local
// Network's registration, is a no-op.
func TestDeregisterNetworkAPI(t *testing.T) {
	forEachBackend(t, func(t *testing.T, x *api) {
		ctx := context.Background()
		key, pub, _ := x.seedAlice(t)
		list := []idco.AccessEntry{{User: "alice", PublicKeyPEM: string(pub)}}
		for c, cl := range map[string]*client.Client{"a": x.a, "b": x.b} {
			_, err := cl.RegisterNetwork(ctx, c, "n", idco.NetworkRegistration{Namespace: "t", Name: "n", LocalVNI: 10, AccessList: list})
			must(t, err)
		}
		raw, err := token.Sign(token.Claims{Network: "n", User: "alice", Expiry: time.Now().Add(time.Hour)}, key)
		must(t, err)
		da, err := x.a.Authorize(ctx, "a", idco.PodAuthorization{Network: "n", Namespace: "t", Pod: "pa", Token: raw})
		must(t, err)
		_, err = x.b.Authorize(ctx, "b", idco.PodAuthorization{Network: "n", Namespace: "t", Pod: "pb", Token: raw})
		must(t, err)
		before, err := x.a.Authorizations(ctx, "a", 0, 0)
		must(t, err)

		must(t, x.a.DeregisterNetwork(ctx, "a", "n", idco.LocalNetwork{Namespace: "other", Name: "n"}))
		if regs, err := x.svc.Registrations(ctx, "n"); err != nil || len(regs) != 2 {
			t.Errorf("after deregistering another local Network: registrations %+v, %v; want both kept", regs, err)
		}
		must(t, x.a.DeregisterNetwork(ctx, "a", "n", idco.LocalNetwork{Namespace: "t", Name: "n"}))
		must(t, x.a.DeregisterNetwork(ctx, "a", "n", idco.LocalNetwork{})) // idempotent
		if regs, err := x.svc.Registrations(ctx, "n"); err != nil || len(regs) != 1 || regs[0].Cluster != "b" {
			t.Errorf("after a deregistered: registrations %+v, %v; want b's alone", regs, err)
		}
		l, err := x.a.Authorizations(ctx, "a", before.Revision, 0)
		must(t, err)
		if len(l.Active) != 0 || len(l.Revoked) != 1 || l.Revoked[0].ID != da.AuthorizationID || l.Revoked[0].RevokedReason != idco.ReasonNetworkDeregistered {
			t.Errorf("cluster a's authorizations after deregistering = %+v, want %s revoked with %s", l, da.AuthorizationID, idco.ReasonNetworkDeregistered)
		}
		cfg, err := x.b.EdgeConfig(ctx, "b", 0, 0)
		must(t, err)
		if len(cfg.Networks) != 1 || len(cfg.Networks[0].Peers) != 0 {
			t.Errorf("edge config of b after a deregistered = %+v, want n without peers", cfg)
		}
		es, err := x.admin.Audit(ctx, idco.AuditFilter{Network: "n", Cluster: "a"})
		must(t, err)
		var deregs []idco.AuditEntry
		for _, e := range es {
			if e.Action == "deregister-network" {
				deregs = append(deregs, e)
			}
		}
		if len(deregs) != 1 || deregs[0].Actor != "cluster/a" || deregs[0].Subject != "t/n vni=10" {
			t.Errorf("deregister-network audit entries = %+v, want one by cluster/a", deregs)
		}
	})
}
