package server

import (
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"switchboard/internal/idco"
)

type metrics struct {
	decisions *prometheus.CounterVec
	latency   *prometheus.HistogramVec
	swept     *prometheus.CounterVec
	sweeps    *prometheus.CounterVec
	lastSweep prometheus.Gauge
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		decisions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "switchboard_idco_decisions_total",
			Help: "Authorization decisions, by result (allowed, refused) and reason.",
		}, []string{"result", "reason"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "switchboard_idco_request_duration_seconds",
			Help:    "API request latency by route and status code.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 5, 30, 60},
		}, []string{"route", "code"}),
	}
	m.swept = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "switchboard_idco_retention_deleted_total",
		Help: "Rows the retention sweeps exported and deleted, by table (audit, authorizations).",
	}, []string{"table"})
	m.sweeps = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "switchboard_idco_retention_sweeps_total",
		Help: "Retention sweeps, by result (ok, error).",
	}, []string{"result"})
	m.lastSweep = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "switchboard_idco_retention_last_success_timestamp_seconds",
		Help: "When the last retention sweep that succeeded ended (Unix time).",
	})
	reg.MustRegister(m.decisions, m.latency, m.swept, m.sweeps, m.lastSweep)
	return m
}

// ObserveSweep counts a retention sweep and what it deleted; pass it to
// idco.Service.RunRetention.
func (s *Server) ObserveSweep(r idco.SweepResult, err error) {
	m := s.metrics
	m.swept.WithLabelValues("audit").Add(float64(r.Audit))
	m.swept.WithLabelValues("authorizations").Add(float64(r.Authorizations))
	if err != nil {
		m.sweeps.WithLabelValues("error").Inc()
		return
	}
	m.sweeps.WithLabelValues("ok").Inc()
	m.lastSweep.SetToCurrentTime()
}

func (m *metrics) decision(allowed bool, reason string) {
	result := "refused"
	if allowed {
		result = "allowed"
	}
	m.decisions.WithLabelValues(result, reason).Inc()
}

type statusWriter struct {
	http.ResponseWriter
	code int
}

func (w *statusWriter) WriteHeader(code int) {
	w.code = code
	w.ResponseWriter.WriteHeader(code)
}

func (m *metrics) instrument(route string, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w, code: http.StatusOK}
		h.ServeHTTP(sw, r)
		m.latency.WithLabelValues(route, strconv.Itoa(sw.code)).Observe(time.Since(start).Seconds())
	})
}
