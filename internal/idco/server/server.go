// Package server is the IDCO's HTTPS API: a thin JSON layer over
// idco.Service. Clients authenticate with certificates from package pki;
// a cluster certificate may act only for its own cluster, and user, key,
// permission and audit routes need an admin certificate. Every route is
// listed in api/idco/openapi.yaml, and a test keeps the two in step.
package server

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"switchboard/internal/idco"
	"switchboard/internal/idco/pki"
)

// Limits on requests.
const (
	MaxBodyBytes   = 1 << 20          // a registration with a long access list fits
	MaxWait        = 60 * time.Second // the longest long poll
	requestTimeout = 15 * time.Second // every other request
)

// Server serves the API. Create it with New; it is safe for concurrent
// use.
type Server struct {
	svc     *idco.Service
	log     *slog.Logger
	mux     *http.ServeMux
	routes  []string
	metrics *metrics
}

// access says who may call a route.
type access int

const (
	anyone      access = iota // no certificate needed
	anyClient                 // any valid client certificate
	clusterSelf               // the {cluster} in the path, or an admin
	adminOnly
)

// New returns a Server for svc. Metrics are registered on reg (nil: a new
// registry) and served at /metrics; log may be nil to discard.
func New(svc *idco.Service, log *slog.Logger, reg *prometheus.Registry) *Server {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if reg == nil {
		reg = prometheus.NewRegistry()
	}
	s := &Server{svc: svc, log: log, mux: http.NewServeMux(), metrics: newMetrics(reg)}
	s.handle("GET /healthz", anyone, s.healthz)
	s.handle("GET /metrics", anyClient, promhttp.HandlerFor(reg, promhttp.HandlerOpts{}).ServeHTTP)
	s.clusterRoutes()
	s.adminRoutes()
	return s
}

// Handler returns the API's root handler.
func (s *Server) Handler() http.Handler { return s.mux }

// Mount serves h under prefix (a path ending in "/", such as the portal's
// "/portal/") beside the API. h does its own authentication: the API's
// certificate checks do not apply to it. Call Mount before serving.
func (s *Server) Mount(prefix string, h http.Handler) { s.mux.Handle(prefix, h) }

// Routes lists the registered patterns ("GET /v1/..."), in order.
func (s *Server) Routes() []string { return append([]string(nil), s.routes...) }

func (s *Server) handle(pattern string, who access, h http.HandlerFunc) {
	s.routes = append(s.routes, pattern)
	s.mux.Handle(pattern, s.metrics.instrument(pattern, s.authorize(who, h)))
}

type identityKey struct{}

// authorize checks the client certificate against the route's access and
// passes the identity on in the context, also as the audit actor.
func (s *Server) authorize(who access, h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if who == anyone {
			h(w, r)
			return
		}
		if r.TLS == nil || len(r.TLS.VerifiedChains) == 0 {
			writeError(w, http.StatusUnauthorized, "Unauthenticated", "a client certificate signed by the IDCO's CA is required: enrol with \"switchboard-idco enrol\"")
			return
		}
		id, err := pki.IdentityOf(r.TLS.VerifiedChains[0][0])
		if err != nil {
			writeError(w, http.StatusForbidden, "Forbidden", err.Error())
			return
		}
		switch {
		case who == adminOnly && id.Admin == "":
			writeError(w, http.StatusForbidden, "Forbidden", id.String()+" may not call admin routes: use an admin certificate")
			return
		case who == clusterSelf && id.Admin == "" && id.Cluster != r.PathValue("cluster"):
			writeError(w, http.StatusForbidden, "Forbidden", id.String()+" may act only for its own cluster, not "+r.PathValue("cluster"))
			return
		}
		ctx := idco.WithActor(context.WithValue(r.Context(), identityKey{}, id), id.String())
		h(w, r.WithContext(ctx))
	}
}

func (s *Server) healthz(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

// apiError is the body of every error response.
type apiError struct {
	Error  string `json:"error"`
	Reason string `json:"reason"`
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, status int, reason, msg string) {
	writeJSON(w, status, apiError{Error: msg, Reason: reason})
}

// fail answers a service error with its status; unexpected errors are
// logged and answered without detail.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, err error) {
	var nameConflict *idco.NameConflictError
	switch {
	case errors.As(err, &nameConflict):
		writeError(w, http.StatusConflict, idco.ReasonNameConflict, err.Error())
	case errors.Is(err, idco.ErrInvalid):
		writeError(w, http.StatusBadRequest, "Invalid", err.Error())
	case errors.Is(err, idco.ErrNotFound):
		writeError(w, http.StatusNotFound, "NotFound", err.Error())
	case errors.Is(err, idco.ErrConflict):
		writeError(w, http.StatusConflict, "Conflict", err.Error())
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled):
		writeError(w, http.StatusServiceUnavailable, "Unavailable", "the request timed out or was cancelled")
	default:
		s.log.Error("request failed", "method", r.Method, "path", r.URL.Path, "err", err)
		writeError(w, http.StatusInternalServerError, "Internal", "internal error: see the IDCO's log")
	}
}

// withTimeout bounds a non-polling request.
func withTimeout(r *http.Request) (context.Context, context.CancelFunc) {
	return context.WithTimeout(r.Context(), requestTimeout)
}
