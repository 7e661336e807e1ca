// Command switchboard-agent is Switchboard's node agent: it runs on every
// node (DaemonSet, host network, privileged), serves the CNI plugin and
// programs the node's virtual networks.
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"net/netip"
	"os"
	"strings"

	"github.com/go-logr/logr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/manager"

	"switchboard/internal/agent"
	"switchboard/internal/bgp"
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
	bgpOn := flag.Bool("bgp", false, "run the node's BGP speaker: sessions from BGPPeers, routes from BGPAdvertisements (see docs/bgp.md)")
	bgpRouterID := flag.String("bgp-router-id", "", "the speaker's BGP identifier, an IPv4 address unique among the routers' peers (empty: --node-ip, which must then be IPv4)")
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
	if *bgpOn {
		room, err := bgpRoom(opts.NodeName, *nodeIP, *bgpRouterID, opts.DaemonSet.Namespace, log)
		if err != nil {
			log.Error(err, "agent failed")
			os.Exit(1)
		}
		opts.Rooms = append(opts.Rooms, room)
	}
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

// bgpRoom wires the node's BGP speaker (internal/bgp) into the agent. It
// runs in the agent's process rather than a per-node process of its own:
// it needs what the agent has already (the node's name and underlay
// address, the caches of Networks, Attachments and Nodes, host
// networking), and graceful restart makes an agent restart harmless to
// the routes, so a separate process would add a DaemonSet, RBAC and an
// image for no gain.
func bgpRoom(node, nodeIP, routerID, namespace string, log logr.Logger) (func(context.Context, manager.Manager) error, error) {
	o := bgp.NodeOptions{NodeName: node, Namespace: namespace, Log: log}
	var err error
	if o.NodeIP, err = netip.ParseAddr(nodeIP); err != nil {
		return nil, fmt.Errorf("--node-ip / NODE_IP %q: not an IP address: %w", nodeIP, err)
	}
	if routerID != "" {
		if o.RouterID, err = netip.ParseAddr(routerID); err != nil || !o.RouterID.Is4() {
			return nil, fmt.Errorf("--bgp-router-id %q: want an IPv4 address such as 198.18.0.11", routerID)
		}
	}
	if namespace == "" {
		return nil, fmt.Errorf("--bgp needs POD_NAMESPACE (Switchboard's namespace, where BGP password Secrets live); the DaemonSet sets it from the downward API")
	}
	return func(ctx context.Context, mgr manager.Manager) error { return bgp.Setup(ctx, mgr, o) }, nil
}
