package client_test

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"switchboard/internal/idco"
	"switchboard/internal/idco/client"
)

// guard bounds each call of these tests, so that a client without its own
// bounds fails the test instead of hanging it. It is far longer than any
// bound the tests set.
const guard = 20 * time.Second

func guarded(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), guard)
	t.Cleanup(cancel)
	return ctx
}

// silentListener accepts connections and never sends a byte on them.
func silentListener(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var conns []net.Conn
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	})
	return "https://" + ln.Addr().String()
}

// silentServer completes TLS and reads requests but answers none until the
// test ends; it returns its URL and a client TLS configuration trusting it.
func silentServer(t *testing.T) (string, *tls.Config) {
	t.Helper()
	release := make(chan struct{})
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(func() { close(release); srv.Close() })
	return srv.URL, srv.Client().Transport.(*http.Transport).TLSClientConfig
}

func wantTimeout(t *testing.T, what string, err error) {
	t.Helper()
	if !errors.Is(err, client.ErrTimeout) || !strings.Contains(err.Error(), "up and reachable") {
		t.Errorf("%s against a silent IDCO: err = %v, want ErrTimeout saying what to check", what, err)
	}
	if errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, client.ErrTimeout) {
		t.Errorf("%s ran into the test's own guard: the client has no bound of its own", what)
	}
}

func TestCallsTimeOutOnSilentListener(t *testing.T) {
	url := silentListener(t)
	insecure := &tls.Config{InsecureSkipVerify: true} // never gets that far
	c := client.New(url, insecure, client.WithTimeouts(client.Timeouts{Call: 500 * time.Millisecond}))
	defer c.Close()
	wantTimeout(t, "a call bounded by Call", c.RegisterCluster(guarded(t), "a"))

	c = client.New(url, insecure, client.WithTimeouts(client.Timeouts{TLSHandshake: 500 * time.Millisecond}))
	defer c.Close()
	wantTimeout(t, "a TLS handshake", c.Healthz(guarded(t)))
}

func TestCallsTimeOutOnSilentServer(t *testing.T) {
	url, cfg := silentServer(t)
	c := client.New(url, cfg, client.WithTimeouts(client.Timeouts{Call: 500 * time.Millisecond, PollMargin: 500 * time.Millisecond}))
	defer c.Close()
	ctx := guarded(t)
	_, err := c.RegisterNetwork(ctx, "a", "blue", idco.NetworkRegistration{Namespace: "team", Name: "blue", LocalVNI: 7})
	wantTimeout(t, "RegisterNetwork", err)
	_, err = c.Authorize(ctx, "a", idco.PodAuthorization{Network: "blue", Namespace: "team", Pod: "p", Token: "t"})
	wantTimeout(t, "Authorize", err)
	_, err = c.EdgeConfig(ctx, "a", 3, 200*time.Millisecond)
	wantTimeout(t, "a long poll (EdgeConfig)", err)
	_, err = c.Authorizations(ctx, "a", 3, 200*time.Millisecond)
	wantTimeout(t, "a long poll (Authorizations)", err)
}

// TestLongPollOutlivesCallBound: a long poll may take the wait it asks
// for, even when that is longer than the bound of other calls.
func TestLongPollOutlivesCallBound(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		wait, err := time.ParseDuration(r.URL.Query().Get("wait"))
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		time.Sleep(wait) // nothing changed during the wait
		w.Write([]byte(`{"cluster":"a","revision":3,"networks":[]}`))
	}))
	defer srv.Close()
	cfg := srv.Client().Transport.(*http.Transport).TLSClientConfig
	c := client.New(srv.URL, cfg, client.WithTimeouts(client.Timeouts{Call: 50 * time.Millisecond, PollMargin: 10 * time.Second}))
	defer c.Close()
	e, err := c.EdgeConfig(guarded(t), "a", 3, 500*time.Millisecond)
	if err != nil || e.Revision != 3 {
		t.Errorf("EdgeConfig = %+v, %v; want revision 3", e, err)
	}
}

// TestCallerDeadlineIsNotATimeout: when the caller's own context ends
// first, the error is the caller's, not ErrTimeout.
func TestCallerDeadlineIsNotATimeout(t *testing.T) {
	url, cfg := silentServer(t)
	c := client.New(url, cfg)
	defer c.Close()
	ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
	defer cancel()
	err := c.RegisterCluster(ctx, "a")
	if !errors.Is(err, context.DeadlineExceeded) || errors.Is(err, client.ErrTimeout) {
		t.Errorf("err = %v, want the caller's context.DeadlineExceeded, not ErrTimeout", err)
	}
}
