package server_test

import (
	"context"
	"crypto"
	"crypto/tls"
	"net"
	"path/filepath"
	"testing"

	"switchboard/internal/idco"
	"switchboard/internal/idco/client"
	"switchboard/internal/idco/pki"
	"switchboard/internal/idco/server"
	"switchboard/internal/idco/store"
	"switchboard/internal/idco/store/storetest"
	"switchboard/internal/token"
)

// api is a running IDCO on loopback with certificates for clusters a and
// b and an admin.
type api struct {
	url     string
	dir     string
	svc     *idco.Service
	a, b    *client.Client
	admin   *client.Client
	noCert  *client.Client
	clients map[string]*tls.Config
}

func startAPI(tb testing.TB, dsn string) *api {
	tb.Helper()
	dir := tb.TempDir()
	if err := pki.Init(dir, []string{"127.0.0.1", "localhost"}); err != nil {
		tb.Fatal(err)
	}
	x := &api{dir: dir, clients: map[string]*tls.Config{}}
	for name, id := range map[string]pki.Identity{"a": {Cluster: "a"}, "b": {Cluster: "b"}, "admin": {Admin: "root"}} {
		out := filepath.Join(dir, "client-"+name)
		if err := pki.Enrol(dir, out, id); err != nil {
			tb.Fatal(err)
		}
		cfg, err := pki.ClientTLS(out)
		if err != nil {
			tb.Fatal(err)
		}
		x.clients[name] = cfg
	}
	ctx, cancel := context.WithCancel(context.Background())
	db, err := store.Open(ctx, dsn)
	if err != nil {
		tb.Fatal(err)
	}
	x.svc = idco.New(db)
	srv := server.New(x.svc, nil, nil)
	tlsCfg, err := pki.ServerTLS(dir)
	if err != nil {
		tb.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, ln, tlsCfg) }()
	tb.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			tb.Errorf("serve: %v", err)
		}
		db.Close()
	})
	x.url = "https://" + ln.Addr().String()
	x.a, x.b, x.admin = client.New(x.url, x.clients["a"]), client.New(x.url, x.clients["b"]), client.New(x.url, x.clients["admin"])
	noCert := x.clients["a"].Clone()
	noCert.Certificates = nil
	x.noCert = client.New(x.url, noCert)
	for _, c := range []*client.Client{x.a, x.b, x.admin, x.noCert} {
		tb.Cleanup(c.Close)
	}
	return x
}

// seedAlice adds user alice with a new key, whose signer, PEM public key
// and fingerprint it returns, and sets the edge endpoints of clusters a and
// b.
func (x *api) seedAlice(tb testing.TB) (crypto.Signer, []byte, string) {
	tb.Helper()
	ctx := context.Background()
	key, err := token.GenerateKey("")
	must(tb, err)
	pub, err := token.MarshalPublicKeyPEM(key.Public())
	must(tb, err)
	must(tb, x.admin.AddUser(ctx, "alice"))
	fp, err := x.admin.AddKey(ctx, "alice", pub)
	must(tb, err)
	must(tb, x.a.SetEdgeEndpoint(ctx, "a", idco.EdgeEndpointRequest{Endpoint: "198.18.0.1:4789"}))
	must(tb, x.b.SetEdgeEndpoint(ctx, "b", idco.EdgeEndpointRequest{Endpoint: "198.18.0.2:4789"}))
	return key, pub, fp
}

// forEachBackend runs test against an API on SQLite and on PostgreSQL,
// each on a fresh database.
func forEachBackend(t *testing.T, test func(t *testing.T, x *api)) {
	for _, b := range storetest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) { test(t, startAPI(t, b.NewDSN(t))) })
	}
}

func must(tb testing.TB, err error) {
	tb.Helper()
	if err != nil {
		tb.Fatal(err)
	}
}
