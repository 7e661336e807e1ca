package server_test

import (
	"context"
	"crypto/tls"
	"net"
	"path/filepath"
	"testing"

	"switchboard/internal/idco"
	"switchboard/internal/idco/client"
	"switchboard/internal/idco/pki"
	"switchboard/internal/idco/server"
	"switchboard/internal/idco/store"
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
