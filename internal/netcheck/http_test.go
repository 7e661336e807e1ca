package netcheck

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// listen opens a listener on an ephemeral loopback port; tests use no other
// address.
func listen(t *testing.T) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	return ln
}

// startHTTP serves h on a loopback port and returns its base URL.
func startHTTP(t *testing.T, h http.Handler) string {
	t.Helper()
	srv := httptest.NewUnstartedServer(h)
	srv.Listener.Close()
	srv.Listener = listen(t)
	srv.Start()
	t.Cleanup(srv.Close)
	return srv.URL
}

func fakeInfo() (Info, error) {
	return Info{Hostname: "box-1", Addrs: []string{"10.1.0.5/24", "fd00::5/64"}}, nil
}

func TestHandler(t *testing.T) {
	var logs bytes.Buffer
	base := startHTTP(t, NewHandler(fakeInfo, slog.New(slog.NewTextHandler(&logs, nil))))
	tests := []struct {
		path    string
		wantErr string // substring of Get's error; "" for success
		check   func(t *testing.T, body []byte)
	}{
		{path: "/", check: func(t *testing.T, body []byte) {
			var h Hello
			if err := json.Unmarshal(body, &h); err != nil {
				t.Fatalf("decode %q: %v", body, err)
			}
			if h.Hostname != "box-1" || !strings.HasPrefix(h.Remote, "127.0.0.1:") || len(h.Addrs) != 2 {
				t.Errorf("hello = %+v, want box-1 called from 127.0.0.1 with 2 addrs", h)
			}
		}},
		{path: "/healthz", check: func(t *testing.T, body []byte) {
			if string(body) != "ok\n" {
				t.Errorf("body = %q, want %q", body, "ok\n")
			}
		}},
		{path: "/bytes?n=100000", check: func(t *testing.T, body []byte) {
			if len(body) != 100000 || !bytes.Equal(body, make([]byte, 100000)) {
				t.Errorf("got %d bytes, want 100000 zero bytes", len(body))
			}
		}},
		{path: "/bytes?n=0", check: func(t *testing.T, body []byte) {
			if len(body) != 0 {
				t.Errorf("got %d bytes, want none", len(body))
			}
		}},
		{path: "/bytes?n=-1", wantErr: "400 Bad Request"},
		{path: "/bytes?n=ten", wantErr: `parse n \"ten\"`},
		{path: "/bytes", wantErr: "400 Bad Request"},
		{path: "/nope", wantErr: "404 Not Found"},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			var out bytes.Buffer
			err := Get(context.Background(), http.DefaultClient, base+tt.path, &out)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Get = %v, want an error containing %q", err, tt.wantErr)
				}
				if out.Len() != 0 {
					t.Errorf("Get wrote %q on error, want nothing", out.String())
				}
				return
			}
			if err != nil {
				t.Fatalf("Get: %v", err)
			}
			tt.check(t, out.Bytes())
		})
	}
	if n := strings.Count(logs.String(), "msg=http"); n != len(tests) {
		t.Errorf("logged %d request lines, want %d:\n%s", n, len(tests), logs.String())
	}
}

func TestHandlerInfoError(t *testing.T) {
	info := func() (Info, error) { return Info{}, errors.New("no hostname") }
	base := startHTTP(t, NewHandler(info, slog.New(slog.DiscardHandler)))
	err := Get(context.Background(), http.DefaultClient, base, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "500") || !strings.Contains(err.Error(), "no hostname") {
		t.Errorf("Get = %v, want a 500 quoting the cause", err)
	}
}

func TestGetErrors(t *testing.T) {
	ln := listen(t)
	closed := ln.Addr().String()
	ln.Close()
	client := &http.Client{Timeout: 2 * time.Second}
	tests := []struct {
		name, url, want string
	}{
		{name: "refused", url: "http://" + closed + "/", want: "connection refused"},
		{name: "no scheme refused", url: closed + "/healthz", want: `"http://` + closed + `/healthz"`},
		{name: "bad url", url: "http://[::1", want: "missing ']'"},
		{name: "bad scheme", url: "gopher://127.0.0.1/", want: "unsupported protocol scheme"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Get(context.Background(), client, tt.url, io.Discard)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Get(%q) = %v, want an error containing %q", tt.url, err, tt.want)
			}
		})
	}
}
