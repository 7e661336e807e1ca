package netcheck

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

// syncBuffer is a bytes.Buffer safe for the concurrent writes of a logger.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func TestServe(t *testing.T) {
	httpLn, tcpLn, echoLn := listen(t), listen(t), listen(t)
	var logs syncBuffer
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() {
		done <- Serve(ctx, Listeners{HTTP: httpLn, Sink: tcpLn, Echo: echoLn}, slog.New(slog.NewTextHandler(&logs, nil)))
	}()

	var body bytes.Buffer
	if err := Get(ctx, http.DefaultClient, httpLn.Addr().String()+"/healthz", &body); err != nil || body.String() != "ok\n" {
		t.Errorf("Get /healthz = %q, %v; want ok", body.String(), err)
	}
	if _, err := Send(ctx, tcpLn.Addr().String(), 1<<20, randomSource(4)); err != nil {
		t.Errorf("Send: %v", err)
	}
	if res, err := RequestResponse(ctx, echoLn.Addr().String(), 3, 0); err != nil || res.Transactions != 3 {
		t.Errorf("RequestResponse = %+v, %v; want 3 transactions", res, err)
	}

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Serve after cancel = %v, want nil", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Serve did not return after cancel")
	}
	if _, err := Send(context.Background(), tcpLn.Addr().String(), 1, randomSource(4)); err == nil {
		t.Error("sink still answers after Serve returned")
	}
	for _, want := range []string{"msg=http", "path=/healthz", "msg=tcp", "bytes=1048576", "msg=echo"} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("log lacks %q:\n%s", want, logs.String())
		}
	}
}

func TestServeStopsOnListenerFailure(t *testing.T) {
	httpLn, tcpLn := listen(t), listen(t)
	tcpLn.Close() // the sink fails at once; Serve must stop the HTTP side too
	done := make(chan error, 1)
	go func() {
		done <- Serve(context.Background(), Listeners{HTTP: httpLn, Sink: tcpLn}, slog.New(slog.DiscardHandler))
	}()
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), "accept on") {
			t.Errorf("Serve = %v, want the sink's accept error", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Serve kept running after the sink failed")
	}
}
