package edgectl

import "github.com/prometheus/client_golang/prometheus"

// metrics are the controller's Prometheus metrics.
type metrics struct {
	links      prometheus.Gauge
	linksReady prometheus.Gauge
	idcoErrors *prometheus.CounterVec
	problems   prometheus.Gauge
	setErrors  prometheus.Counter
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		links: prometheus.NewGauge(prometheus.GaugeOpts{Name: "switchboard_edge_links",
			Help: "Inter-cluster links the providers ask this edge to carry."}),
		linksReady: prometheus.NewGauge(prometheus.GaugeOpts{Name: "switchboard_edge_links_ready",
			Help: "Links whose bridge, tunnel port and cable are in place and joined."}),
		idcoErrors: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "switchboard_edge_idco_errors_total",
			Help: "Failed calls to a provider (IDCO), by provider."}, []string{"provider"}),
		problems: prometheus.NewGauge(prometheus.GaugeOpts{Name: "switchboard_edge_config_problems",
			Help: "Networks or peers of the providers' configs left out of the merged config."}),
		setErrors: prometheus.NewCounter(prometheus.CounterOpts{Name: "switchboard_edge_converge_errors_total",
			Help: "Convergences of the kernel or the edge attachments that failed."}),
	}
	if reg != nil {
		reg.MustRegister(m.links, m.linksReady, m.idcoErrors, m.problems, m.setErrors)
	}
	return m
}
