package netcheck

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"strings"
	"testing"
	"time"
)

// startEcho runs ServeEcho on a loopback port until the test ends and
// returns its address and the log it writes.
func startEcho(t *testing.T) (string, *syncBuffer) {
	t.Helper()
	ln := listen(t)
	ctx, cancel := context.WithCancel(context.Background())
	var logs syncBuffer
	done := make(chan error, 1)
	go func() { done <- ServeEcho(ctx, ln, slog.New(slog.NewTextHandler(&logs, nil))) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("ServeEcho: %v", err)
		}
	})
	return ln.Addr().String(), &logs
}

func TestEchoWritesBackWhatItReads(t *testing.T) {
	addr, logs := startEcho(t)
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	msg := strings.Repeat("switchboard ", 1000) // several reads' worth
	go func() {
		_, _ = io.WriteString(conn, msg)
		_ = conn.(*net.TCPConn).CloseWrite()
	}()
	got, err := io.ReadAll(conn)
	if err != nil || string(got) != msg {
		t.Fatalf("echo answered %d bytes (%v), want the %d sent back", len(got), err, len(msg))
	}
	want := "bytes=12000"
	for deadline := time.Now().Add(5 * time.Second); !strings.Contains(logs.String(), want); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("log lacks %q:\n%s", want, logs.String())
		}
	}
}

func TestRequestResponseCount(t *testing.T) {
	addr, _ := startEcho(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for _, n := range []int64{1, 300} { // 300: the request byte wraps past 255
		res, err := RequestResponse(ctx, addr, n, 0)
		if err != nil || res.Transactions != n || res.Elapsed <= 0 || res.Rate() <= 0 {
			t.Errorf("RequestResponse(count %d) = %+v, %v; want %d transactions in some time", n, res, err, n)
		}
	}
}

func TestRequestResponseDuration(t *testing.T) {
	addr, _ := startEcho(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	const d = 100 * time.Millisecond
	res, err := RequestResponse(ctx, addr, 0, d)
	if err != nil || res.Transactions < 1 || res.Elapsed < d {
		t.Fatalf("RequestResponse(for %s) = %+v, %v; want at least one transaction and at least %s", d, res, err, d)
	}
	if s := res.String(); !strings.HasPrefix(s, "rr ") || !strings.HasSuffix(s, " transactions/s)") {
		t.Errorf("String() = %q, want \"rr N transactions in Xs (R transactions/s)\"", s)
	}
}

// TestRequestResponseFaultyPeers: a peer that answers another byte, or
// hangs up, fails the run instead of counting a transaction.
func TestRequestResponseFaultyPeers(t *testing.T) {
	tests := []struct {
		name   string
		handle func(net.Conn)
		want   string
	}{
		{"answers another byte", func(c net.Conn) {
			b := make([]byte, 1)
			for {
				if _, err := c.Read(b); err != nil {
					return
				}
				b[0]++
				_, _ = c.Write(b)
			}
		}, "is 0x01, sent 0x00"},
		{"hangs up", func(c net.Conn) { c.Close() }, "answer 1 from"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ln := listen(t)
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			done := make(chan error, 1)
			go func() { done <- serveConns(ctx, ln, tt.handle) }()
			_, err := RequestResponse(ctx, ln.Addr().String(), 10, 0)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("RequestResponse = %v, want an error with %q", err, tt.want)
			}
			if tt.name == "answers another byte" && !errors.Is(err, ErrMismatch) {
				t.Errorf("RequestResponse = %v, want ErrMismatch", err)
			}
			cancel()
			<-done
		})
	}
}

func TestRequestResponseNeedsALimit(t *testing.T) {
	if _, err := RequestResponse(context.Background(), "127.0.0.1:1", 0, 0); err == nil || !strings.Contains(err.Error(), "count or a duration") {
		t.Errorf("RequestResponse without count or duration = %v, want an error naming both", err)
	}
}
