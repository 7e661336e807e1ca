package server

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"switchboard/internal/cnirpc"
	"switchboard/internal/stalltest"
)

func TestServeHangsUpOnStalledRequest(t *testing.T) {
	dir, err := os.MkdirTemp("", "sb") // short: a socket path has at most 108 bytes
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	socket := filepath.Join(dir, "cni.sock")
	l, err := cnirpc.Listen(socket)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	srv := newServer(ctx, HandlerFunc(func(context.Context, cnirpc.Request) *cnirpc.Response { return nil }))
	srv.ReadTimeout = time.Second // the test's own, short, so that it ends soon
	done := make(chan error, 1)
	go func() { done <- serve(ctx, l, srv) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
	})
	stalltest.HangsUp(t, func() (net.Conn, error) { return net.Dial("unix", socket) }, cnirpc.PathCNI)
}

func TestServerLimits(t *testing.T) {
	srv := newServer(t.Context(), nil)
	if srv.ReadHeaderTimeout <= 0 || srv.ReadTimeout <= 0 || srv.IdleTimeout <= 0 || srv.MaxHeaderBytes <= 0 {
		t.Errorf("server limits: read header %s, read %s, idle %s, max header bytes %d: every one must be set",
			srv.ReadHeaderTimeout, srv.ReadTimeout, srv.IdleTimeout, srv.MaxHeaderBytes)
	}
	// The plugin waits up to 120 s for GC (cmd/switchboard-cni): the answer
	// must not be cut off before.
	if srv.WriteTimeout <= 120*time.Second {
		t.Errorf("write timeout %s would cut off a GC answer the plugin still waits for (120 s)", srv.WriteTimeout)
	}
}
