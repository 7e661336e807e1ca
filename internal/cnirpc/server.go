package cnirpc

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/containernetworking/cni/pkg/types"
)

// Handler carries out CNI requests on the agent side.
//
// Handle is called concurrently, once per request, only with requests that
// passed Request.Validate. ctx is cancelled when the plugin gives up (its
// timeout) or the server shuts down for good. A nil Response counts as
// success with no result.
type Handler interface {
	Handle(ctx context.Context, req Request) *Response
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
	mux := http.NewServeMux()
	mux.HandleFunc("POST "+PathCNI, func(w http.ResponseWriter, r *http.Request) { serveCNI(w, r, h) })
	mux.HandleFunc("GET "+PathHealth, func(w http.ResponseWriter, r *http.Request) { serveHealth(w, r, h) })
	srv := &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: 10 * time.Second,
		BaseContext:       func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
	}

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
	var req Request
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxBody))
	if err := dec.Decode(&req); err != nil {
		reply(w, http.StatusBadRequest, &Response{Error: types.NewError(types.ErrDecodingFailure, "decode request", err.Error())})
		return
	}
	if err := req.Validate(); err != nil {
		code := types.ErrInvalidEnvironmentVariables
		if fe, ok := errors.AsType[*FieldError](err); ok && fe.Field == "config" {
			code = types.ErrDecodingFailure
		}
		reply(w, http.StatusBadRequest, &Response{Error: types.NewError(code, err.Error(), "")})
		return
	}
	resp := h.Handle(r.Context(), req)
	if resp == nil {
		resp = &Response{}
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

func reply(w http.ResponseWriter, status int, resp *Response) {
	data, err := json.Marshal(resp)
	if err != nil {
		// Only a Result that is not JSON gets here; report it as a CNI error.
		data, _ = json.Marshal(&Response{Error: types.NewError(types.ErrInternal, "encode response", err.Error())})
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(data)
}
