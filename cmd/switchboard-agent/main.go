// Command switchboard-agent is Switchboard's node agent: it runs on every
// node (DaemonSet, host network, privileged), serves the CNI plugin and
// programs the node's virtual networks.
package main

import (
	"flag"
	"fmt"
	"log/slog"
	"net/netip"
	"os"
	"strings"

	"github.com/go-logr/logr"
	ctrl "sigs.k8s.io/controller-runtime"

	"switchboard/internal/agent"
	"switchboard/internal/clusternet"
	"switchboard/internal/cnirpc"
)

func main() {
	opts := agent.Options{NodeName: os.Getenv("NODE_NAME")}
	nodeIP := flag.String("node-ip", os.Getenv("NODE_IP"), "this node's underlay address (env NODE_IP)")
	flag.StringVar(&opts.Socket, "socket", cnirpc.DefaultSocket, "unix socket the CNI plugin calls: a file in "+cnirpc.RuntimeDir+", the only directory the plugin talks to")
	flag.StringVar(&opts.CNIBinDir, "cni-bin-dir", "/host/opt/cni/bin", "host CNI binary directory to install the plugin into (empty: don't install)")
	flag.StringVar(&opts.PluginPath, "plugin", "/usr/local/bin/switchboard-cni", "the CNI plugin binary to install")
	flag.StringVar(&opts.MetricsAddr, "metrics-bind-address", ":9090", "Prometheus metrics address")
	flag.StringVar(&opts.HealthAddr, "health-probe-bind-address", ":9091", "/healthz and /readyz address")
	podIfs := flag.String("pod-interfaces", "cni0,cali*,lxc*", "comma-separated iifname patterns (name, or prefix*) of the primary network's pod-side devices, from which VXLAN is never admitted; Switchboard's own are always included")
	flag.StringVar(&opts.DaemonSet.Name, "daemonset", "switchboard-agent", "the agent's DaemonSet (namespace: env POD_NAMESPACE): when it is gone at shutdown, the agent removes its nftables table")
	primary := flag.Bool("primary", false, "also be the cluster's primary pod network (pods addressed from the node's spec.podCIDR, routed between nodes, namespace isolation): the CNI configuration with \"primary\": true")
	flag.Parse()
	opts.DaemonSet.Namespace = os.Getenv("POD_NAMESPACE")
	for _, p := range strings.Split(*podIfs, ",") {
		if p = strings.TrimSpace(p); p != "" {
			opts.PodInterfaces = append(opts.PodInterfaces, p)
		}
	}

	if *primary {
		opts.PodInterfaces = append(opts.PodInterfaces, clusternet.PodInterfaces)
	}
	log := logr.FromSlogHandler(slog.NewJSONHandler(os.Stderr, nil))
	ctrl.SetLogger(log)
	if err := run(opts, *nodeIP, *primary, log); err != nil {
		log.Error(err, "agent failed")
		os.Exit(1)
	}
}

func run(opts agent.Options, nodeIP string, primary bool, log logr.Logger) error {
	ip, err := netip.ParseAddr(nodeIP)
	if err != nil {
		return fmt.Errorf("--node-ip / NODE_IP %q: not an IP address: %w", nodeIP, err)
	}
	opts.NodeIP = ip
	if primary {
		p, err := clusternet.New(clusternet.Options{NodeName: opts.NodeName, NodeIP: ip, Log: log})
		if err != nil {
			return fmt.Errorf("--primary: %w", err)
		}
		opts.Primary = p
	}
	if err := cnirpc.CheckSocket(cnirpc.RuntimeDir, opts.Socket); err != nil {
		return fmt.Errorf("--socket: %w", err)
	}
	cfg, err := ctrl.GetConfig()
	if err != nil {
		return fmt.Errorf("kubernetes client config: %w", err)
	}
	// Every CNI ADD and DEL makes two or three API calls; client-go's
	// default of 20 requests/s would throttle a node starting many pods.
	cfg.QPS, cfg.Burst = 100, 200
	return agent.Run(ctrl.SetupSignalHandler(), cfg, opts, log)
}
