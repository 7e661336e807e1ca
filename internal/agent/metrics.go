package agent

import (
	"github.com/prometheus/client_golang/prometheus"
	ctrlmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"
)

// metrics are the agent's Prometheus series, served with controller-runtime's.
type metrics struct {
	cniRequests      *prometheus.CounterVec
	cniDuration      *prometheus.HistogramVec
	addPhase         *prometheus.HistogramVec
	allocConflicts   prometheus.Counter
	syncErrors       prometheus.Counter
	orphans          prometheus.Counter
	staleAttachments prometheus.Counter
	networks         prometheus.Gauge
	remotes          prometheus.Gauge
	underlaySyncs    *prometheus.CounterVec
	underlayNodes    prometheus.Gauge
	underlayPodCIDRs prometheus.Gauge
}

func newMetrics() *metrics {
	m := &metrics{
		cniRequests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "switchboard_agent_cni_requests_total", Help: "CNI requests served, by command and result.",
		}, []string{"command", "result"}),
		cniDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "switchboard_agent_cni_request_duration_seconds", Help: "Time to serve a CNI request.",
			Buckets: prometheus.ExponentialBuckets(0.001, 2, 14),
		}, []string{"command"}),
		addPhase: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "switchboard_agent_cni_add_phase_duration_seconds", Help: "Time of each phase of a CNI ADD. In turn, adding up to the ADD: resolve (network, admission, MAC), allocate (the pod's annotation if read, the Attachment create), link_wait (for the link, after allocate), address (a late MAC, the addresses). Beside allocate: link (veth into the pod, MTU, MAC, bridge port, up).",
			Buckets: prometheus.ExponentialBuckets(0.0001, 2, 16),
		}, []string{"phase"}),
		allocConflicts: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "switchboard_agent_allocation_conflicts_total", Help: "Addresses another agent took first (each costs one retry).",
		}),
		syncErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "switchboard_agent_dataplane_sync_errors_total", Help: "Failed data-plane convergences (retried).",
		}),
		orphans: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "switchboard_agent_orphan_interfaces_removed_total", Help: "Pod interfaces removed because no attachment accounted for them.",
		}),
		staleAttachments: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "switchboard_agent_stale_attachments_removed_total", Help: "Attachments removed because their ADD died with its agent and no pod interface exists.",
		}),
		networks: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "switchboard_agent_networks", Help: "Networks with pods on this node.",
		}),
		remotes: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "switchboard_agent_remote_endpoints", Help: "Pod interfaces on other nodes this node forwards to.",
		}),
		underlaySyncs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "switchboard_agent_underlay_table_syncs_total", Help: "Replacements of the underlay admission table (nftables inet switchboard), by result.",
		}, []string{"result"}),
		underlayNodes: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "switchboard_agent_underlay_node_addresses", Help: "Node addresses the underlay admission table accepts VXLAN from.",
		}),
		underlayPodCIDRs: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "switchboard_agent_underlay_pod_cidrs", Help: "Pod CIDRs the underlay admission table drops VXLAN from.",
		}),
	}
	// Registering twice (a second agent in one test binary) is not an error worth failing on.
	for _, c := range []prometheus.Collector{m.cniRequests, m.cniDuration, m.addPhase, m.allocConflicts, m.syncErrors, m.orphans, m.staleAttachments, m.networks, m.remotes, m.underlaySyncs, m.underlayNodes, m.underlayPodCIDRs} {
		_ = ctrlmetrics.Registry.Register(c)
	}
	return m
}
