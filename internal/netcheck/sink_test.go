package netcheck

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"strings"
	"testing"
	"time"
)

// startSink runs ServeSink on a loopback port until the test ends.
func startSink(t *testing.T) string {
	t.Helper()
	ln := listen(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- ServeSink(ctx, ln, slog.New(slog.DiscardHandler)) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("ServeSink: %v", err)
		}
	})
	return ln.Addr().String()
}

func randomSource(seed uint64) io.Reader {
	return rand.NewChaCha8([32]byte{byte(seed)})
}

func TestSendToSink(t *testing.T) {
	addr := startSink(t)
	for _, n := range []int64{0, 1, 4 << 20} {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		res, err := Send(ctx, addr, n, randomSource(1))
		if err != nil {
			t.Fatalf("Send %d bytes: %v", n, err)
		}
		want := sha256.New()
		io.CopyN(want, randomSource(1), n)
		if res.Bytes != n || res.SHA256 != hex.EncodeToString(want.Sum(nil)) {
			t.Errorf("Send %d bytes = %+v, want %d bytes with sha256 %x", n, res, n, want.Sum(nil))
		}
		if !strings.HasSuffix(res.String(), "sha256 ok") {
			t.Errorf("result %q does not end in %q", res, "sha256 ok")
		}
	}
}

// relay forwards one connection to the sink at target, passing the
// client's bytes through mangle: a stand-in for a faulty network path.
func relay(t *testing.T, target string, mangle func([]byte) []byte) string {
	t.Helper()
	ln := listen(t)
	go func() {
		client, err := ln.Accept()
		if err != nil {
			return
		}
		defer client.Close()
		server, err := net.Dial("tcp", target)
		if err != nil {
			return
		}
		defer server.Close()
		data, _ := io.ReadAll(client)
		server.Write(mangle(data))
		server.(*net.TCPConn).CloseWrite()
		io.Copy(client, server)
	}()
	return ln.Addr().String()
}

func TestSendMismatch(t *testing.T) {
	sink := startSink(t)
	tests := []struct {
		name   string
		mangle func([]byte) []byte
		want   string
	}{
		{name: "flipped bit", want: "sink sha256", mangle: func(b []byte) []byte {
			b[len(b)/2] ^= 0x01
			return b
		}},
		{name: "lost tail", want: "sink received 999 bytes, sent 1000", mangle: func(b []byte) []byte {
			return b[:len(b)-1]
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			_, err := Send(ctx, relay(t, sink, tt.mangle), 1000, randomSource(2))
			if !errors.Is(err, ErrMismatch) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Send through a faulty relay = %v, want ErrMismatch containing %q", err, tt.want)
			}
		})
	}
}

func TestSendErrors(t *testing.T) {
	sink := startSink(t)
	refused := listen(t)
	refusedAddr := refused.Addr().String()
	refused.Close()
	silent := listen(t) // accepts (via the backlog) but never replies
	tests := []struct {
		name string
		addr string
		src  io.Reader
		want string
	}{
		{name: "refused", addr: refusedAddr, src: randomSource(3), want: "connection refused"},
		{name: "short source", addr: sink, src: bytes.NewReader(make([]byte, 10)), want: "after 10 bytes: unexpected EOF"},
		{name: "no reply", addr: silent.Addr().String(), src: randomSource(3), want: "deadline exceeded"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
			defer cancel()
			_, err := Send(ctx, tt.addr, 100, tt.src)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Send = %v, want an error containing %q", err, tt.want)
			}
		})
	}
}

func TestParseReply(t *testing.T) {
	sum := strings.Repeat("ab", 32)
	tests := []struct {
		line    string
		n       int64
		wantErr bool
	}{
		{line: "10 " + sum + "\n", n: 10},
		{line: "0 " + sum, n: 0},
		{line: FormatReply(42, sum), n: 42},
		{line: "", wantErr: true},
		{line: "10\n", wantErr: true},
		{line: "-1 " + sum, wantErr: true},
		{line: "x " + sum, wantErr: true},
		{line: "10 abcd", wantErr: true},
		{line: "10 " + strings.Repeat("zz", 32), wantErr: true},
	}
	for _, tt := range tests {
		n, got, err := ParseReply(tt.line)
		if tt.wantErr {
			if err == nil {
				t.Errorf("ParseReply(%q) succeeded, want an error", tt.line)
			}
			continue
		}
		if err != nil || n != tt.n || got != sum {
			t.Errorf("ParseReply(%q) = %d, %q, %v; want %d, %q", tt.line, n, got, err, tt.n, sum)
		}
	}
}

func TestSendResultString(t *testing.T) {
	tests := []struct {
		r    SendResult
		want string
	}{
		{r: SendResult{Bytes: 10485760, Elapsed: 120 * time.Millisecond}, want: "sent 10485760 bytes in 0.12s (699 Mbit/s), sha256 ok"},
		{r: SendResult{Bytes: 0}, want: "sent 0 bytes in 0.00s (n/a), sha256 ok"},
	}
	for _, tt := range tests {
		if got := tt.r.String(); got != tt.want {
			t.Errorf("String() = %q, want %q", got, tt.want)
		}
	}
}
