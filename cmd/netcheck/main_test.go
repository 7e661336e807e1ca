package main

import (
	"bytes"
	"context"
	"encoding/json"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// syncBuffer is a bytes.Buffer safe for concurrent use.
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

func runArgs(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errs bytes.Buffer
	code = run(context.Background(), args, &out, &errs)
	return code, out.String(), errs.String()
}

// startServe runs "netcheck serve" on loopback ephemeral ports and returns
// the HTTP and TCP addresses it logged.
func startServe(t *testing.T) (httpAddr, tcpAddr string) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	var logs syncBuffer
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"serve", "--http", "127.0.0.1:0", "--tcp", "127.0.0.1:0", "--discard", "127.0.0.1:0"}, &logs, &logs)
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case code := <-done:
			if code != 0 {
				t.Errorf("serve exited %d after cancel, want 0; log:\n%s", code, logs.String())
			}
		case <-time.After(5 * time.Second):
			t.Errorf("serve did not stop after cancel")
		}
	})
	re := regexp.MustCompile(`msg=listening addr=(127\.0\.0\.1:\d+)`)
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if m := re.FindAllStringSubmatch(logs.String(), -1); len(m) == 3 { // http, tcp, discard
			return m[0][1], m[1][1]
		}
	}
	t.Fatalf("serve did not log three listening addresses:\n%s", logs.String())
	return "", ""
}

func TestServeGetSend(t *testing.T) {
	httpAddr, tcpAddr := startServe(t)

	code, out, errs := runArgs(t, "get", "--timeout", "2s", "http://"+httpAddr+"/")
	var hello struct{ Hostname, Remote string }
	if code != 0 || json.Unmarshal([]byte(out), &hello) != nil || !strings.HasPrefix(hello.Remote, "127.0.0.1:") {
		t.Errorf("get / = %d, %q, %q; want 0 and JSON naming a 127.0.0.1 caller", code, out, errs)
	}
	if code, out, _ := runArgs(t, "get", httpAddr+"/healthz"); code != 0 || out != "ok\n" {
		t.Errorf("get /healthz without scheme = %d, %q; want 0, ok", code, out)
	}
	if code, out, _ := runArgs(t, "get", httpAddr+"/bytes?n=12345"); code != 0 || len(out) != 12345 {
		t.Errorf("get /bytes?n=12345 = %d with %d bytes; want 0 with 12345", code, len(out))
	}
	if code, out, errs := runArgs(t, "get", httpAddr+"/missing"); code != 1 || out != "" || !strings.Contains(errs, "404") {
		t.Errorf("get /missing = %d, %q, %q; want 1, nothing, a 404 message", code, out, errs)
	}
	code, out, errs = runArgs(t, "send", "--bytes", "3000000", tcpAddr)
	if code != 0 || !regexp.MustCompile(`^sent 3000000 bytes in \d+\.\d\ds \((\d+ Mbit/s|n/a)\), sha256 ok\n$`).MatchString(out) {
		t.Errorf("send = %d, %q, %q; want 0 and a sha256 ok line", code, out, errs)
	}
	if code, _, errs := runArgs(t, "send", "--timeout", "2s", httpAddr); code != 1 || !strings.Contains(errs, "netcheck send: ") {
		t.Errorf("send to the HTTP port = %d, %q; want 1 and an error", code, errs)
	}
}

// TestServeEchoRR: serve with only --echo, and rr against it, as the
// inter-cluster benchmark uses them.
func TestServeEchoRR(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	var logs syncBuffer
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"serve", "--http", "", "--tcp", "", "--discard", "", "--echo", "127.0.0.1:0"}, &logs, &logs)
	}()
	defer func() {
		cancel()
		if code := <-done; code != 0 {
			t.Errorf("serve exited %d after cancel, want 0; log:\n%s", code, logs.String())
		}
	}()
	re := regexp.MustCompile(`msg=listening addr=(127\.0\.0\.1:\d+)`)
	var addr string
	for deadline := time.Now().Add(5 * time.Second); addr == ""; time.Sleep(10 * time.Millisecond) {
		if m := re.FindStringSubmatch(logs.String()); m != nil {
			addr = m[1]
		} else if time.Now().After(deadline) {
			t.Fatalf("serve --echo logged no listening address:\n%s", logs.String())
		}
	}
	code, out, errs := runArgs(t, "rr", "--count", "50", "--for", "0", addr)
	if code != 0 || !regexp.MustCompile(`^rr 50 transactions in \d+\.\d\ds \(\d+ transactions/s\)\n$`).MatchString(out) {
		t.Errorf("rr --count 50 = %d, %q, %q; want 0 and \"rr 50 transactions in ...\"", code, out, errs)
	}
	code, out, errs = runArgs(t, "rr", "--for", "50ms", addr)
	if code != 0 || !strings.HasPrefix(out, "rr ") {
		t.Errorf("rr --for 50ms = %d, %q, %q; want 0 and an rr line", code, out, errs)
	}
}

func TestUsage(t *testing.T) {
	tests := []struct {
		args       []string
		code       int
		wantStdout string
		wantStderr string
	}{
		{args: nil, code: 2, wantStderr: "usage: netcheck <command>"},
		{args: []string{"help"}, code: 0, wantStdout: "netcheck send [--bytes"},
		{args: []string{"bogus"}, code: 2, wantStderr: `unknown command "bogus"`},
		{args: []string{"get"}, code: 2, wantStderr: "want 1 argument(s), got 0"},
		{args: []string{"get", "a", "b"}, code: 2, wantStderr: "usage: netcheck get"},
		{args: []string{"get", "-h"}, code: 0, wantStderr: "-timeout duration"},
		{args: []string{"send", "--bytes", "-1", "127.0.0.1:1"}, code: 2, wantStderr: "negative"},
		{args: []string{"send", "--bytes", "lots", "127.0.0.1:1"}, code: 2, wantStderr: "invalid value"},
		{args: []string{"serve", "--http", "", "--tcp", "", "--discard", ""}, code: 2, wantStderr: "nothing to serve"},
		{args: []string{"serve", "--http", "127.0.0.1:http-port"}, code: 1, wantStderr: `listen on "127.0.0.1:http-port"`},
		{args: []string{"rr"}, code: 2, wantStderr: "want 1 argument(s), got 0"},
		{args: []string{"rr", "--for", "0", "127.0.0.1:1"}, code: 2, wantStderr: "give a positive --for or --count"},
		{args: []string{"rr", "--count", "-1", "127.0.0.1:1"}, code: 2, wantStderr: "usage: netcheck rr"},
		{args: []string{"rr", "--for", "1s", "--timeout", "2s", "127.0.0.1:1"}, code: 1, wantStderr: "netcheck rr: connect to 127.0.0.1:1"},
		{args: []string{"version", "extra"}, code: 2, wantStderr: "want 0 argument(s)"},
		{args: []string{"version"}, code: 0, wantStdout: "netcheck "},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			code, out, errs := runArgs(t, tt.args...)
			if code != tt.code || !strings.Contains(out, tt.wantStdout) || !strings.Contains(errs, tt.wantStderr) {
				t.Errorf("exit %d, stdout %q, stderr %q; want exit %d, stdout with %q, stderr with %q",
					code, out, errs, tt.code, tt.wantStdout, tt.wantStderr)
			}
		})
	}
}

// TestResolveCommand: "netcheck resolve" prints the addresses of a name
// that exists and exits 1 with NXDOMAIN for one that does not (localhost
// is answered from /etc/hosts; .invalid never exists, RFC 6761).
func TestResolveCommand(t *testing.T) {
	code, out, errs := runArgs(t, "resolve", "localhost")
	if code != 0 || !strings.Contains(out, "127.0.0.1\n") {
		t.Errorf("resolve localhost: exit %d, stdout %q, stderr %q; want 0 and 127.0.0.1", code, out, errs)
	}
	code, _, errs = runArgs(t, "resolve", "--server", "127.0.0.1:1", "--timeout", "2s", "nosuch.invalid.")
	if code != 1 || strings.Contains(errs, "NXDOMAIN") {
		t.Errorf("resolve via a closed port: exit %d, stderr %q; want 1 and no NXDOMAIN claim", code, errs)
	}
	if code, _, _ := runArgs(t, "resolve"); code != 2 {
		t.Errorf("resolve without a name: exit %d, want 2", code)
	}
}
