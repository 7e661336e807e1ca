package server

import (
	"context"
	"crypto/tls"
	"net"
	"path/filepath"
	"testing"
	"time"

	"switchboard/internal/idco/pki"
	"switchboard/internal/stalltest"
)

func TestServeHangsUpOnStalledRequest(t *testing.T) {
	dir := t.TempDir()
	if err := pki.Init(dir, []string{"127.0.0.1"}); err != nil {
		t.Fatal(err)
	}
	if err := pki.Enrol(dir, filepath.Join(dir, "admin"), pki.Identity{Admin: "root"}); err != nil {
		t.Fatal(err)
	}
	serverTLS, err := pki.ServerTLS(dir)
	if err != nil {
		t.Fatal(err)
	}
	clientTLS, err := pki.ClientTLS(filepath.Join(dir, "admin"))
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	hs := New(nil, nil, nil).newHTTPServer(ctx, serverTLS)
	hs.ReadTimeout = time.Second // the test's own, short, so that it ends soon
	done := make(chan error, 1)
	go func() { done <- serve(ctx, ln, hs) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
	})
	stalltest.HangsUp(t, func() (net.Conn, error) { return tls.Dial("tcp", ln.Addr().String(), clientTLS) }, "/v1/users")
}

func TestServerLimits(t *testing.T) {
	hs := New(nil, nil, nil).newHTTPServer(t.Context(), nil)
	if hs.ReadHeaderTimeout <= 0 || hs.ReadTimeout <= 0 || hs.IdleTimeout <= 0 || hs.MaxHeaderBytes <= 0 {
		t.Errorf("server limits: read header %s, read %s, idle %s, max header bytes %d: every one must be set",
			hs.ReadHeaderTimeout, hs.ReadTimeout, hs.IdleTimeout, hs.MaxHeaderBytes)
	}
	if hs.WriteTimeout <= MaxWait {
		t.Errorf("write timeout %s would cut off a long poll's answer (up to %s)", hs.WriteTimeout, MaxWait)
	}
}
