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
	lim := defaultLimits()
	lim.read = time.Second // the test's own, short, so that it ends soon
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- serve(ctx, l, HandlerFunc(func(context.Context, cnirpc.Request) *cnirpc.Response { return nil }), lim)
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
	})
	stalltest.HangsUp(t, func() (net.Conn, error) { return net.Dial("unix", socket) }, cnirpc.PathCNI)
}

func TestDefaultLimits(t *testing.T) {
	lim := defaultLimits()
	if lim.readHeader <= 0 || lim.read <= 0 || lim.idle <= 0 || lim.maxHeaderBytes <= 0 {
		t.Errorf("defaultLimits() = %+v: every limit must be set", lim)
	}
	// The plugin waits up to 120 s for GC (cmd/switchboard-cni): the answer
	// must not be cut off before.
	if lim.write <= 120*time.Second {
		t.Errorf("write timeout %s would cut off a GC answer the plugin still waits for (120 s)", lim.write)
	}
}
