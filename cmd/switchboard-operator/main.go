// Command switchboard-operator runs Switchboard's control plane: it
// reconciles Networks (VNI, NetworkAttachmentDefinition, deletion),
// garbage-collects Attachments, and adopts seed-format NADs. See package
// switchboard/internal/operator.
package main

import (
	"crypto/tls"
	"flag"
	"fmt"
	"log/slog"
	"os"

	"github.com/go-logr/logr"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/klog/v2"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"
	"sigs.k8s.io/controller-runtime/pkg/webhook"

	"switchboard/api/v1alpha1"
	"switchboard/internal/intercluster"
	"switchboard/internal/operator"
	"switchboard/internal/webhookcert"
)

type options struct {
	clusterCIDR, serviceCIDR string
	metricsAddr, probeAddr   string
	leaderElect              bool
	interCluster             bool
	clusterName, edgeNode    string
	idcoCerts                string
	allowedProviders         string
	webhookPort              int
	namespace                string
}

func main() {
	var o options
	flag.StringVar(&o.clusterCIDR, "cluster-cidr", "", "the cluster's pod CIDRs, comma-separated; Networks overlapping them are invalid")
	flag.StringVar(&o.serviceCIDR, "service-cidr", "", "the cluster's service CIDRs, comma-separated; Networks overlapping them are invalid")
	flag.StringVar(&o.metricsAddr, "metrics-bind-address", ":8080", "address of the Prometheus metrics endpoint (0 disables it)")
	flag.StringVar(&o.probeAddr, "health-probe-bind-address", ":8081", "address of the /healthz and /readyz endpoints")
	flag.BoolVar(&o.leaderElect, "leader-elect", false, "elect a leader, so that only one replica reconciles")
	flag.BoolVar(&o.interCluster, "inter-cluster", false, "inter-cluster mode: register ext-vnet Networks with their provider (IDCO)")
	flag.StringVar(&o.clusterName, "cluster-name", "", "with --inter-cluster: this cluster's name, as enrolled with the providers")
	flag.StringVar(&o.edgeNode, "edge-node", "", "with --inter-cluster: the gateway node that runs switchboard-edge")
	flag.StringVar(&o.idcoCerts, "idco-certs", "/etc/switchboard/idco", "with --inter-cluster: client certificates, one subdirectory per provider name (ca.crt, tls.crt, tls.key)")
	flag.StringVar(&o.allowedProviders, "allowed-providers", "", "with --inter-cluster: the only providers Networks may name, comma-separated, each NAME (any domain) or NAME=HOST:PORT; empty allows every provider that has a certificate directory")
	flag.IntVar(&o.webhookPort, "webhook-port", 9443, "port of the validating admission webhook (see docs/admission.md); 0 serves none")
	flag.StringVar(&o.namespace, "namespace", envOr("POD_NAMESPACE", "switchboard-system"), "the operator's namespace: its webhook Service and certificate Secret are there")
	flag.Parse()

	log := logr.FromSlogHandler(slog.NewJSONHandler(os.Stderr, nil))
	ctrl.SetLogger(log)
	klog.SetLogger(log)
	if err := run(o); err != nil {
		log.Error(err, "operator stopped")
		os.Exit(1)
	}
}

func run(o options) error {
	pods, err := operator.ParsePrefixes("the cluster's pod CIDR (--cluster-cidr)", o.clusterCIDR)
	if err != nil {
		return err
	}
	services, err := operator.ParsePrefixes("the cluster's service CIDR (--service-cidr)", o.serviceCIDR)
	if err != nil {
		return err
	}
	scheme := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(scheme); err != nil {
		return fmt.Errorf("register core types: %w", err)
	}
	if err := v1alpha1.AddToScheme(scheme); err != nil {
		return fmt.Errorf("register switchboard types: %w", err)
	}
	cfg, err := ctrl.GetConfig()
	if err != nil {
		return fmt.Errorf("load kubeconfig: %w", err)
	}
	mgrOpts := ctrl.Options{
		Scheme:                 scheme,
		Metrics:                metricsserver.Options{BindAddress: o.metricsAddr},
		HealthProbeBindAddress: o.probeAddr,
		LeaderElection:         o.leaderElect,
		LeaderElectionID:       "switchboard-operator.switchboard.dev",
		// A stopping operator hands the lease back, so that its successor
		// (a restart, a rolling update) leads at once instead of waiting
		// for the lease to expire; safe because the process ends as soon
		// as the manager returns (run's last statement).
		LeaderElectionReleaseOnCancel: true,
	}
	var rot *webhookcert.Rotator
	if o.webhookPort != 0 {
		if rot, err = newRotator(cfg, scheme, o.namespace); err != nil {
			return err
		}
		mgrOpts.WebhookServer = webhook.NewServer(webhook.Options{
			Port:    o.webhookPort,
			TLSOpts: []func(*tls.Config){func(c *tls.Config) { c.GetCertificate = rot.GetCertificate }},
		})
	}
	mgr, err := ctrl.NewManager(cfg, mgrOpts)
	if err != nil {
		return fmt.Errorf("create manager: %w", err)
	}
	ctx := ctrl.SetupSignalHandler()
	opCfg := operator.Config{Reserved: append(pods, services...)}
	if o.interCluster {
		allowed, err := intercluster.ParseAllowlist(o.allowedProviders)
		if err != nil {
			return err
		}
		reg, err := intercluster.NewRegistrar(o.clusterName, o.edgeNode, o.idcoCerts, intercluster.WithAllowlist(allowed))
		if err != nil {
			return err
		}
		opCfg.InterCluster = reg
	}
	if err := operator.Setup(ctx, mgr, opCfg); err != nil {
		return err
	}
	if rot != nil {
		if err := setupWebhook(mgr, rot); err != nil {
			return err
		}
	}
	if err := mgr.AddHealthzCheck("healthz", healthz.Ping); err != nil {
		return fmt.Errorf("add healthz check: %w", err)
	}
	if err := mgr.AddReadyzCheck("readyz", healthz.Ping); err != nil {
		return fmt.Errorf("add readyz check: %w", err)
	}
	return mgr.Start(ctx)
}
