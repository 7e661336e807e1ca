package main

import (
	"context"
	"log/slog"
	"net"
	"net/http"
	"testing"
	"time"

	"switchboard/internal/stalltest"
)

func TestServeHangsUpOnStalledRequest(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	srv := newHTTPServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.Write([]byte("ok")) }))
	srv.ReadTimeout = time.Second // the test's own, short, so that it ends soon
	serveOn(ctx, slog.New(slog.DiscardHandler), ln, srv)
	stalltest.HangsUp(t, func() (net.Conn, error) { return net.Dial("tcp", ln.Addr().String()) }, "/healthz")
}

func TestServerLimits(t *testing.T) {
	s := newHTTPServer(nil)
	if s.ReadHeaderTimeout <= 0 || s.ReadTimeout <= 0 || s.WriteTimeout <= 0 || s.IdleTimeout <= 0 || s.MaxHeaderBytes <= 0 {
		t.Errorf("server limits: read header %s, read %s, write %s, idle %s, max header bytes %d: every one must be set",
			s.ReadHeaderTimeout, s.ReadTimeout, s.WriteTimeout, s.IdleTimeout, s.MaxHeaderBytes)
	}
}
