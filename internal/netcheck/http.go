// Package netcheck is the logic of the lab's test workload: an HTTP server
// that reports who it is and who is calling, a TCP sink that checksums what
// it receives, and the clients for both. cmd/netcheck is a thin CLI over it.
package netcheck

import (
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strconv"
)

// Info describes the serving host.
type Info struct {
	Hostname string
	Addrs    []string
}

// Hello is the JSON body of "GET /".
type Hello struct {
	Hostname string   `json:"hostname"`
	Remote   string   `json:"remote"`
	Addrs    []string `json:"addrs"`
}

// LocalInfo returns this host's name and its interface addresses in CIDR
// notation, e.g. "10.1.0.5/24".
func LocalInfo() (Info, error) {
	host, err := os.Hostname()
	if err != nil {
		return Info{}, fmt.Errorf("read hostname: %w", err)
	}
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		return Info{}, fmt.Errorf("list interface addresses: %w", err)
	}
	info := Info{Hostname: host, Addrs: make([]string, 0, len(addrs))}
	for _, a := range addrs {
		info.Addrs = append(info.Addrs, a.String())
	}
	return info, nil
}

// NewHandler returns the HTTP API of `netcheck serve`:
//
//	GET /          Hello as JSON; info is called on every request
//	GET /bytes?n=N N zero bytes
//	GET /healthz   "ok"
//
// It logs one line per request to log. It is safe for concurrent use if
// info is.
func NewHandler(info func() (Info, error), log *slog.Logger) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		in, err := info()
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(Hello{Hostname: in.Hostname, Remote: r.RemoteAddr, Addrs: in.Addrs})
	})
	mux.HandleFunc("GET /bytes", serveBytes)
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "ok\n")
	})
	return logRequests(mux, log)
}

// serveBytes streams the number of zero bytes asked for by the n parameter.
func serveBytes(w http.ResponseWriter, r *http.Request) {
	n, err := strconv.ParseInt(r.URL.Query().Get("n"), 10, 64)
	if err != nil || n < 0 {
		http.Error(w, fmt.Sprintf("parse n %q: want a byte count >= 0", r.URL.Query().Get("n")), http.StatusBadRequest)
		return
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Content-Length", strconv.FormatInt(n, 10))
	io.CopyN(w, zeros{}, n)
}

// zeros is an endless reader of zero bytes.
type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

// statusWriter remembers the status code written through it.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	w.status = code
	w.ResponseWriter.WriteHeader(code)
}

func logRequests(next http.Handler, log *slog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
		next.ServeHTTP(sw, r)
		log.Info("http", "remote", r.RemoteAddr, "method", r.Method, "path", r.URL.RequestURI(), "status", sw.status)
	})
}
