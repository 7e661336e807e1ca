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
	lim := defaultLimits()
	lim.read = time.Second // the test's own, short, so that it ends soon
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- New(nil, nil, nil).serve(ctx, ln, serverTLS, lim) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
	})
	stalltest.HangsUp(t, func() (net.Conn, error) { return tls.Dial("tcp", ln.Addr().String(), clientTLS) }, "/v1/users")
}

func TestDefaultLimits(t *testing.T) {
	lim := defaultLimits()
	if lim.readHeader <= 0 || lim.read <= 0 || lim.idle <= 0 || lim.maxHeaderBytes <= 0 {
		t.Errorf("defaultLimits() = %+v: every limit must be set", lim)
	}
	if lim.write <= MaxWait {
		t.Errorf("write timeout %s would cut off a long poll's answer (up to %s)", lim.write, MaxWait)
	}
}
