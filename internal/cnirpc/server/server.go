// Package server is the agent's side of the CNI plugin protocol (package
// cnirpc): an HTTP server on the agent's unix socket. It lives apart from
// the protocol and its client so that the plugin, which runs once per CNI
// call, does not link net/http and pay for its start-up.
package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/containernetworking/cni/pkg/types"

	"switchboard/internal/cnirpc"
)

// Handler carries out CNI requests on the agent side.
//
// Handle is called concurrently, once per request, only with requests that
// passed cnirpc.Request.Validate. ctx is cancelled when the plugin gives up (its
// timeout) or the server shuts down for good. A nil cnirpc.Response counts as
// success with no result.
type Handler interface {
	Handle(ctx context.Context, req cnirpc.Request) *cnirpc.Response
}

// HandlerFunc adapts a function to a Handler.
type HandlerFunc func(ctx context.Context, req cnirpc.Request) *cnirpc.Response

// Handle calls f.
func (f HandlerFunc) Handle(ctx context.Context, req cnirpc.Request) *cnirpc.Response {
	return f(ctx, req)
}

// HealthChecker is implemented by a Handler that can tell whether it is ready
// to serve CNI requests. If the Handler given to Serve implements it, GET
// /healthz answers 503 with the error's text when Healthy returns an error;
// otherwise /healthz answers 200 whenever the server is up.
type HealthChecker interface {
	Healthy(ctx context.Context) error
}

// shutdownGrace is how long Serve lets requests in flight finish once ctx is
// done, before it closes their connections.
const shutdownGrace = 10 * time.Second

// Serve answers CNI requests on l with h until ctx is done, then stops
// accepting, lets requests in flight finish (up to 10 s) and returns nil. It
// returns an error if serving fails for another reason. Serve closes l.
//
// Handlers see the values of ctx but not its cancellation, which would cut
// requests in flight short.
func Serve(ctx context.Context, l net.Listener, h Handler) error {
	return serve(ctx, l, newServer(ctx, h))
}

// newServer returns the HTTP server of h. Its limits keep a client that
// stalls (or a plugin stuck on a frozen node) from holding a goroutine and a
// socket forever: a request (at most cnirpc.MaxBody) comes in one go from a
// plugin that has it in memory, and an answer may take as long as the
// slowest CNI call the plugin waits for (GC, 120 s).
func newServer(ctx context.Context, h Handler) *http.Server {
	mux := http.NewServeMux()
	mux.HandleFunc("POST "+cnirpc.PathCNI, func(w http.ResponseWriter, r *http.Request) { serveCNI(w, r, h) })
	mux.HandleFunc("GET "+cnirpc.PathHealth, func(w http.ResponseWriter, r *http.Request) { serveHealth(w, r, h) })
	return &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       20 * time.Second,
		WriteTimeout:      150 * time.Second,
		IdleTimeout:       30 * time.Second,
		MaxHeaderBytes:    16 << 10,
		BaseContext:       func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
	}
}

func serve(ctx context.Context, l net.Listener, srv *http.Server) error {
	done := make(chan error, 1)
	go func() { done <- srv.Serve(l) }()
	select {
	case err := <-done:
		return fmt.Errorf("serve cni requests on %s: %w", l.Addr(), err)
	case <-ctx.Done():
	}

	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), shutdownGrace)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		_ = srv.Close()
	}
	if err := <-done; !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve cni requests on %s: %w", l.Addr(), err)
	}
	return nil
}

func serveCNI(w http.ResponseWriter, r *http.Request, h Handler) {
	var req cnirpc.Request
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, cnirpc.MaxBody))
	if err := dec.Decode(&req); err != nil {
		reply(w, http.StatusBadRequest, &cnirpc.Response{Error: types.NewError(types.ErrDecodingFailure, "decode request", err.Error())})
		return
	}
	if err := req.Validate(); err != nil {
		code := types.ErrInvalidEnvironmentVariables
		if fe, ok := errors.AsType[*cnirpc.FieldError](err); ok && fe.Field == "config" {
			code = types.ErrDecodingFailure
		}
		reply(w, http.StatusBadRequest, &cnirpc.Response{Error: types.NewError(code, err.Error(), "")})
		return
	}
	resp := h.Handle(r.Context(), req)
	if resp == nil {
		resp = &cnirpc.Response{}
	}
	reply(w, http.StatusOK, resp)
}

func serveHealth(w http.ResponseWriter, r *http.Request, h Handler) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	if hc, ok := h.(HealthChecker); ok {
		if err := hc.Healthy(r.Context()); err != nil {
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = fmt.Fprintln(w, err)
			return
		}
	}
	_, _ = fmt.Fprintln(w, "ok")
}

func reply(w http.ResponseWriter, status int, resp *cnirpc.Response) {
	data, err := json.Marshal(resp)
	if err != nil {
		// Only a Result that is not JSON gets here; report it as a CNI error.
		data, _ = json.Marshal(&cnirpc.Response{Error: types.NewError(types.ErrInternal, "encode response", err.Error())})
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(data)
}
