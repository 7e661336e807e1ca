// Package cnirpctest provides a fake switchboard agent for tests of code that
// speaks the cnirpc protocol: it serves on a unix socket in a temporary
// directory, records every request and answers with a function the test
// chooses.
package cnirpctest

import (
	"context"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"switchboard/internal/cnirpc"
	"switchboard/internal/cnirpc/server"
)

// Agent is a fake node agent. It is safe for concurrent use.
type Agent struct {
	// Socket is the path the agent listens on.
	Socket string

	reply func(cnirpc.Request) *cnirpc.Response

	mu       sync.Mutex
	requests []cnirpc.Request
	health   error
}

// Start serves a fake agent on a socket in a new temporary directory until
// the test ends. reply computes the answer to each request; nil answers every
// request with success and no result.
func Start(t testing.TB, reply func(cnirpc.Request) *cnirpc.Response) *Agent {
	t.Helper()
	return StartAt(t, filepath.Join(ShortTempDir(t), "cni.sock"), reply)
}

// StartAt is Start with the socket at the path the test chooses.
func StartAt(t testing.TB, socket string, reply func(cnirpc.Request) *cnirpc.Response) *Agent {
	t.Helper()
	a := &Agent{Socket: socket, reply: reply}
	l, err := cnirpc.Listen(a.Socket)
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- server.Serve(ctx, l, a) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
	})
	return a
}

// Handle implements server.Handler.
func (a *Agent) Handle(_ context.Context, req cnirpc.Request) *cnirpc.Response {
	a.mu.Lock()
	a.requests = append(a.requests, req)
	a.mu.Unlock()
	if a.reply == nil {
		return nil
	}
	return a.reply(req)
}

// Healthy implements server.HealthChecker with the error set by SetHealth.
func (a *Agent) Healthy(context.Context) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.health
}

// SetHealth makes /healthz report err (nil: healthy).
func (a *Agent) SetHealth(err error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.health = err
}

// Requests returns a copy of the requests received so far, in order.
func (a *Agent) Requests() []cnirpc.Request {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]cnirpc.Request(nil), a.requests...)
}

// ShortTempDir returns a temporary directory removed when the test ends. Its
// path is short, unlike t.TempDir's, so that a socket in it fits the 108-byte
// limit on unix socket paths.
func ShortTempDir(t testing.TB) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "sb")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	return dir
}
