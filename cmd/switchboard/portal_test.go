package main

import (
	"context"
	"encoding/pem"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"switchboard/internal/idco"
	"switchboard/internal/idco/portal"
	"switchboard/internal/idco/store"
)

// TestPortalLogin signs alice in against a portal over TLS: the command
// prints a one-time link; a user who owns nothing, a missing CA file and a
// missing key are refused with what to fix.
func TestPortalLogin(t *testing.T) {
	ctx := idco.WithActor(context.Background(), "admin/test")
	db, err := store.Open(ctx, filepath.Join(t.TempDir(), "idco.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	svc := idco.New(db)
	srv := httptest.NewTLSServer(portal.New(svc).Handler())
	defer srv.Close()
	dir := t.TempDir()
	ca := filepath.Join(dir, "ca.crt")
	if err := os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o644); err != nil {
		t.Fatal(err)
	}
	keys := t.TempDir()
	for _, u := range []string{"alice", "bob"} {
		mustRun(t, "", "keys", "new", "--user", u, "--dir", keys)
		pub, err := os.ReadFile(filepath.Join(keys, u+".pub"))
		if err != nil {
			t.Fatal(err)
		}
		if err := svc.AddUser(ctx, u); err != nil {
			t.Fatal(err)
		}
		if _, err := svc.AddKey(ctx, u, pub); err != nil {
			t.Fatal(err)
		}
	}
	if err := svc.AddOwner(ctx, "alice", "blue"); err != nil {
		t.Fatal(err)
	}
	login := func(user string, extra ...string) (string, error) {
		args := append([]string{"portal", "login", "--server", srv.URL, "--ca", ca, "--user", user, "--key", filepath.Join(keys, user+".key")}, extra...)
		return run(t, "", args...)
	}
	out, err := login("alice")
	if err != nil || !strings.HasPrefix(out, srv.URL+"/portal/login/link/") || !strings.Contains(out, "valid once") {
		t.Fatalf("portal login as alice: %v\n%s", err, out)
	}
	for _, tc := range []struct {
		name string
		user string
		args []string
		want string
	}{
		{"not an owner", "bob", nil, "owns no network"},
		{"missing CA", "alice", []string{"--ca", filepath.Join(dir, "nope.crt")}, "--ca"},
		{"missing key", "alice", []string{"--key", filepath.Join(keys, "nope.key")}, "--key"},
	} {
		if _, err := login(tc.user, tc.args...); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want an error naming %q", tc.name, err, tc.want)
		}
	}
}
