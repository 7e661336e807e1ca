// Command switchboard-edge is Switchboard's edge device: it runs on a
// cluster's gateway node (host network, NET_ADMIN), serves one or more
// IDCOs and carries their inter-cluster networks across the WAN. See
// package switchboard/internal/edgectl for the loop and internal/edge for
// the kernel side.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/go-logr/logr"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	appsv1 "k8s.io/api/apps/v1"
	"k8s.io/apimachinery/pkg/runtime"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	sbv1 "switchboard/api/v1alpha1"
	"switchboard/internal/edge"
	"switchboard/internal/edgectl"
	idcoclient "switchboard/internal/idco/client"
)

type options struct {
	cluster, node, nodeIP  string
	wanIP, wanDevice       string
	wanPort                uint
	providers              providerFlags
	certs                  string
	metricsAddr, probeAddr string
	wgKeyFile, wgInterface string
	wgImplementation       string
	insecurePlainVXLAN     bool
	adminSocket            string
	daemonSet              string
}

// providerFlags is the repeatable --provider name=host:port.
type providerFlags []string

func (p *providerFlags) String() string     { return strings.Join(*p, ",") }
func (p *providerFlags) Set(v string) error { *p = append(*p, v); return nil }

func main() {
	var o options
	flag.StringVar(&o.cluster, "cluster-name", "", "this cluster's name, as enrolled with the providers")
	flag.StringVar(&o.node, "node-name", os.Getenv("NODE_NAME"), "this gateway node's name (env NODE_NAME)")
	flag.StringVar(&o.nodeIP, "node-ip", os.Getenv("NODE_IP"), "this node's underlay address, where the other nodes' agents flood to (env NODE_IP)")
	flag.StringVar(&o.wanIP, "wan-ip", "", "the gateway's WAN address, advertised to the providers; empty: the one address of --wan-device")
	flag.StringVar(&o.wanDevice, "wan-device", "", "the interface holding the WAN address; empty: the one holding --wan-ip")
	flag.UintVar(&o.wanPort, "wan-port", 0, "UDP port of the tunnels on the WAN, the same on every edge; 0: 51820 (WireGuard), or 4790 with --insecure-plain-vxlan-wan")
	flag.StringVar(&o.wgKeyFile, "wireguard-key-file", "/var/lib/switchboard-edge/wireguard.key", "this edge's WireGuard private key (mode 0600), made on first start; only its public key leaves the node")
	flag.StringVar(&o.wgInterface, "wireguard-interface", "sbwg0", "name of the edge's WireGuard interface")
	flag.StringVar(&o.wgImplementation, "wireguard-implementation", "auto", "who makes the WireGuard device: auto (the kernel's where it has the module, else embedded wireguard-go, which dies with this process), kernel, userspace (embedded), or external (made and kept by \"switchboard-edge tunnel\", the switchboard-tunnel DaemonSet, so the tunnel outlives restarts of the edge)")
	flag.BoolVar(&o.insecurePlainVXLAN, "insecure-plain-vxlan-wan", false, "INSECURE: carry inter-cluster links as plain VXLAN on the WAN, unencrypted and unauthenticated (anyone on the WAN can read members' traffic and inject frames); every ext-vnet carried gets a Warning event and condition")
	flag.Var(&o.providers, "provider", "an IDCO to serve, name=host:port (repeatable); its client certificates are in --idco-certs/<name>")
	flag.StringVar(&o.certs, "idco-certs", "/etc/switchboard/idco", "client certificates, one subdirectory per provider name (ca.crt, tls.crt, tls.key)")
	flag.StringVar(&o.metricsAddr, "metrics-bind-address", ":9290", "Prometheus metrics address")
	flag.StringVar(&o.probeAddr, "health-probe-bind-address", ":9291", "/healthz and /readyz address")
	flag.StringVar(&o.daemonSet, "daemonset", "switchboard-edge", "the edge's DaemonSet (namespace: env POD_NAMESPACE): when it is gone at shutdown, the edge removes its nftables table")
	flag.StringVar(&o.adminSocket, "admin-socket", defaultAdminSocket, "unix socket for \"switchboard-edge rotate-key\"; empty: none")
	if len(os.Args) > 1 && os.Args[1] == "rotate-key" {
		if err := rotateKey(os.Args[2:]); err != nil {
			fmt.Fprintln(os.Stderr, "switchboard-edge rotate-key:", err)
			os.Exit(1)
		}
		return
	}
	if len(os.Args) > 1 && os.Args[1] == "tunnel" {
		if err := runTunnel(os.Args[2:]); err != nil {
			fmt.Fprintln(os.Stderr, "switchboard-edge tunnel:", err)
			os.Exit(1)
		}
		return
	}
	flag.Parse()

	log := slog.New(slog.NewJSONHandler(os.Stderr, nil))
	ctrl.SetLogger(logr.FromSlogHandler(log.Handler()))
	if err := run(ctrl.SetupSignalHandler(), o, log); err != nil {
		log.Error("edge stopped", "err", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, o options, log *slog.Logger) error {
	var wanIP, nodeIP netip.Addr
	var err error
	if o.wanIP != "" {
		if wanIP, err = netip.ParseAddr(o.wanIP); err != nil {
			return fmt.Errorf("--wan-ip %q: %w", o.wanIP, err)
		}
	}
	if nodeIP, err = netip.ParseAddr(o.nodeIP); err != nil {
		return fmt.Errorf("--node-ip / NODE_IP %q: not an IP address: %w", o.nodeIP, err)
	}
	if o.wanPort > 65535 {
		return fmt.Errorf("--wan-port %d: use 1-65535, or 0 for the default", o.wanPort)
	}
	wanIP, wanDev, err := edgectl.FindWAN(wanIP, o.wanDevice)
	if err != nil {
		return err
	}
	providers, err := parseProviders(o.providers, o.certs, o.cluster)
	if err != nil {
		return err
	}
	cfg, err := ctrl.GetConfig()
	if err != nil {
		return fmt.Errorf("kubernetes client config: %w", err)
	}
	scheme := runtime.NewScheme()
	if err := sbv1.AddToScheme(scheme); err != nil {
		return err
	}
	if err := appsv1.AddToScheme(scheme); err != nil { // its DaemonSet, read at shutdown
		return err
	}
	kube, err := client.New(cfg, client.Options{Scheme: scheme})
	if err != nil {
		return fmt.Errorf("kubernetes client: %w", err)
	}
	tun, err := newTunnel(o, log)
	if err != nil {
		return err
	}
	atExit, err := wanAdmission(o, log, kube)
	if err != nil {
		return err
	}
	defer atExit()
	e, err := edge.New(edge.WithLogger(log), edge.WithTunnel(tun.make))
	if err != nil {
		return err
	}
	defer e.Close()
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	c, err := edgectl.New(edgectl.Options{
		Cluster: o.cluster,
		Local:   edgectl.Local{Node: o.node, WAN: wanIP, WANDevice: wanDev, WANPort: tun.port, PublicKey: tun.publicKey},
		NodeIP:  nodeIP,
		Pod: sbv1.PodRef{Namespace: os.Getenv("POD_NAMESPACE"), Name: os.Getenv("POD_NAME"),
			UID: os.Getenv("POD_UID")},
		Providers: providers, Client: kube, Edge: e, Log: log, Metrics: reg, Rotate: tun.rotate(),
		Changed: tun.changed(ctx, log),
	})
	if err != nil {
		return err
	}
	if o.adminSocket != "" {
		if err := serveAdmin(ctx, log, o.adminSocket, c); err != nil {
			return fmt.Errorf("--admin-socket %s: %w", o.adminSocket, err)
		}
	}
	serve(ctx, log, o.metricsAddr, promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	health := http.NewServeMux()
	health.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) { w.Write([]byte("ok")) })
	health.HandleFunc("/readyz", func(w http.ResponseWriter, _ *http.Request) {
		if err := c.Ready(); err != nil {
			http.Error(w, err.Error(), http.StatusServiceUnavailable)
			return
		}
		w.Write([]byte("ok"))
	})
	serve(ctx, log, o.probeAddr, health)
	log.Info("starting edge", "cluster", o.cluster, "node", o.node, "wan", wanIP.String(), "wanDevice", wanDev, "wanPort", tun.port,
		"encryption", tun.mode(), "publicKey", tun.publicKey, "providers", o.providers.String())
	return c.Run(ctx)
}

// parseProviders reads the --provider flags into clients using the
// certificates in certs/<name>.
func parseProviders(flags []string, certs, cluster string) ([]edgectl.Provider, error) {
	var out []edgectl.Provider
	for _, f := range flags {
		name, addr, ok := strings.Cut(f, "=")
		if !ok || name == "" || addr == "" {
			return nil, fmt.Errorf("--provider %q: want name=host:port", f)
		}
		dir := filepath.Join(certs, name)
		c, err := idcoclient.NewFromDir("https://"+addr, dir)
		if err != nil {
			return nil, fmt.Errorf("client certificate for provider %q in %s: %w; enrol this cluster with \"switchboard-idco enrol --cluster %s\" and mount the result there", name, dir, err, cluster)
		}
		out = append(out, edgectl.Provider{Name: name, IDCO: c})
	}
	return out, nil
}

// serve runs an HTTP server on addr until ctx ends; "" or "0" disables it.
func serve(ctx context.Context, log *slog.Logger, addr string, h http.Handler) {
	if addr == "" || addr == "0" {
		return
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		log.Error("http server not started", "addr", addr, "err", err)
		return
	}
	serveOn(ctx, log, ln, newHTTPServer(h))
}

// newHTTPServer returns the server of the metrics and probe handler h. Its
// limits, which suit the short GETs of Prometheus and the kubelet's
// probes, keep a client that stalls from holding a connection forever.
func newHTTPServer(h http.Handler) *http.Server {
	return &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 15 * time.Second,
		WriteTimeout: 30 * time.Second, IdleTimeout: 60 * time.Second, MaxHeaderBytes: 64 << 10}
}

// serveOn serves s on ln in the background until ctx ends.
func serveOn(ctx context.Context, log *slog.Logger, ln net.Listener, s *http.Server) {
	go func() {
		if err := s.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("http server stopped", "addr", ln.Addr().String(), "err", err)
		}
	}()
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_ = s.Shutdown(sctx)
	}()
}
