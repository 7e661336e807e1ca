package netcheck

import (
	"context"
	"io"
	"log/slog"
	"net"
	"testing"
	"time"
)

func TestDiscardRoundTrip(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- ServeDiscard(ctx, ln, slog.New(slog.NewTextHandler(io.Discard, nil))) }()
	for _, n := range []int64{0, 1, discardBuffer + 7, 8 << 20} {
		res, err := SendDiscard(ctx, ln.Addr().String(), n)
		if err != nil || res.Bytes != n {
			t.Fatalf("send %d: %+v %v", n, res, err)
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}
