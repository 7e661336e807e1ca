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
	lim := defaultLimits()
	lim.read = time.Second // the test's own, short, so that it ends soon
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	h := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.Write([]byte("ok")) })
	serveOn(ctx, slog.New(slog.DiscardHandler), ln, h, lim)
	stalltest.HangsUp(t, func() (net.Conn, error) { return net.Dial("tcp", ln.Addr().String()) }, "/healthz")
}

func TestDefaultLimits(t *testing.T) {
	if lim := defaultLimits(); lim.readHeader <= 0 || lim.read <= 0 || lim.write <= 0 || lim.idle <= 0 || lim.maxHeaderBytes <= 0 {
		t.Errorf("defaultLimits() = %+v: every limit must be set", lim)
	}
}
