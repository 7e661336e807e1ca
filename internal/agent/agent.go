// Package agent is the node agent of Switchboard (switchboard-agent): it
// serves the CNI plugin over a unix socket, allocates addresses by creating
// Attachments, and keeps the node's data plane (bridges, VXLAN devices,
// FDB and neighbour entries) converged on what the API says: the networks
// with pods on this node and their members on other nodes. It also owns
// the node's nftables table of underlay admission (see underlay.go).
//
// The agent keeps no memory of its own: after a restart it recomputes the
// data plane from the API and converges the kernel to it, which changes
// nothing when nothing changed, so running traffic does not notice.
package agent

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/netip"
	"reflect"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/record"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
	"sigs.k8s.io/controller-runtime/pkg/manager"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	sbv1 "switchboard/api/v1alpha1"
	"switchboard/internal/cnirpc"
	"switchboard/internal/cnirpc/server"
	"switchboard/internal/dataplane"
	"switchboard/internal/firewall"
	underlayrules "switchboard/internal/firewall/underlay"
)

// +kubebuilder:rbac:groups=switchboard.dev,resources=networks,verbs=get;list;watch
// +kubebuilder:rbac:groups=switchboard.dev,resources=attachments,verbs=get;list;watch;create;delete
// +kubebuilder:rbac:groups=switchboard.dev,resources=authorizations,verbs=get
// +kubebuilder:rbac:groups="",resources=pods,verbs=get
// +kubebuilder:rbac:groups="",resources=events,verbs=create;patch
// +kubebuilder:rbac:groups=events.k8s.io,resources=events,verbs=create;patch

// Options configure an agent.
type Options struct {
	NodeName    string     // this node's name (from the downward API)
	NodeIP      netip.Addr // this node's underlay address: the VXLAN endpoint
	Socket      string     // where the CNI plugin reaches the agent
	CNIBinDir   string     // host directory the plugin is installed into (e.g. /host/opt/cni/bin)
	PluginPath  string     // the plugin binary shipped with the agent
	MetricsAddr string     // Prometheus metrics, e.g. ":9090"
	HealthAddr  string     // /healthz and /readyz, e.g. ":9091"
	// PodInterfaces are iifname patterns ("cni0", "cali*") of the primary
	// network's pod-side devices, from which VXLAN is never admitted
	// (besides Switchboard's own, see underlay.SwitchboardInterfaces).
	PodInterfaces []string
	// DaemonSet is the agent's own DaemonSet: when it is gone at shutdown,
	// Switchboard is being uninstalled and the agent removes its table.
	DaemonSet types.NamespacedName
	// Rooms are further parts of the node agent that its command wires in
	// (the BGP speaker): each registers its controllers with the agent's
	// manager, sharing its caches, and runs as long as it does.
	Rooms []func(context.Context, manager.Manager) error
	// Primary, if set, is the cluster's primary pod network on this node
	// (primary mode): the agent hands it the CNI requests of configurations
	// with "primary": true and merges its rules into the node's table.
	Primary PrimaryNetwork
}

// PrimaryNetwork is the cluster's primary pod network on a node (package
// clusternet), as the agent uses it.
type PrimaryNetwork interface {
	// Setup registers its controllers; refresh sets the node's table again
	// (now), with Rules.
	Setup(mgr manager.Manager, refresh func(context.Context) error) error
	// HandleCNI serves ADD, DEL, CHECK of the primary configuration. An
	// error with a BadRequest() bool method that says true is the user's
	// input to fix.
	HandleCNI(ctx context.Context, req cnirpc.Request) (json.RawMessage, error)
	// Rules are its sets and chains in the node's table.
	Rules(ctx context.Context) (firewall.Spec, error)
}

// Agent is one node's agent. Its methods are safe for concurrent use.
type Agent struct {
	opts      Options
	log       logr.Logger
	client    client.Client // writes go to the API server
	cache     client.Reader // reads of Networks and Attachments, from the informer cache
	apiReader client.Reader // reads that must not be stale
	recorder  record.EventRecorder
	dp        *dataplane.Dataplane
	base      dataplane.Config // underlay and local address
	metrics   *metrics
	synced    atomic.Bool // the data plane was converged at least once
	inflight  sync.Map    // ADDs in progress: a token per ADD → its host interface name
	recent    *recentWrites

	setMu     sync.Mutex       // serialises sync: the loop and the start-up call
	lastSync  atomic.Int64     // when the loop's last sync ended, in Unix nanoseconds (pacedSync)
	applied   dataplane.Config // the config last converged, and when
	appliedAt time.Time
	shaped    map[string]podShape // by Attachment: the limits last applied to local pods

	underlay        underlayTable   // the node's table of underlay admission
	underlaySynced  atomic.Bool     // the table was set at least once
	underlayMu      sync.Mutex      // serialises syncUnderlay: the loop and the start-up call
	underlayApplied appliedUnderlay // what the table was last set to
}

// syncKey is the single work item of the data-plane loop: every change of a
// Network or Attachment recomputes the whole node, so one owner writes the
// kernel and events can never be applied out of order.
var syncKey = reconcile.Request{NamespacedName: types.NamespacedName{Name: "node"}}

// resyncPeriod is how often an unchanged data plane is converged again,
// to repair drift (a device or entry changed behind the agent's back).
const resyncPeriod = 5 * time.Minute

// Run starts the agent and blocks until ctx ends.
func Run(ctx context.Context, cfg *rest.Config, opts Options, log logr.Logger) error {
	if opts.NodeName == "" || !opts.NodeIP.IsValid() {
		return errors.New("agent needs the node name and IP: set NODE_NAME and NODE_IP (the DaemonSet does, from the downward API)")
	}
	underlay, err := linkWithAddr(opts.NodeIP)
	if err != nil {
		return fmt.Errorf("find the underlay interface holding %s: %w", opts.NodeIP, err)
	}
	scheme := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(scheme); err != nil {
		return err
	}
	if err := sbv1.AddToScheme(scheme); err != nil {
		return err
	}
	table, err := newUnderlayTable(opts)
	if err != nil {
		return err
	}
	mgr, err := ctrl.NewManager(cfg, ctrl.Options{
		Scheme:                 scheme,
		Logger:                 log,
		Cache:                  cache.Options{ByObject: map[client.Object]cache.ByObject{&corev1.Node{}: {Transform: trimNode}}},
		Metrics:                metricsserver.Options{BindAddress: opts.MetricsAddr},
		HealthProbeBindAddress: opts.HealthAddr,
	})
	if err != nil {
		return fmt.Errorf("create manager: %w", err)
	}
	dp, err := dataplane.New(dataplane.WithLogger(slog.New(logr.ToSlogHandler(log))))
	if err != nil {
		return fmt.Errorf("open data plane: %w", err)
	}
	a := &Agent{
		opts:      opts,
		log:       log,
		client:    mgr.GetClient(),
		cache:     mgr.GetCache(),
		apiReader: mgr.GetAPIReader(),
		recorder:  mgr.GetEventRecorderFor("switchboard-agent"),
		dp:        dp,
		base:      dataplane.Config{Underlay: underlay, LocalIP: opts.NodeIP},
		metrics:   newMetrics(),
		recent:    newRecentWrites(),
		underlay:  table,
	}
	if err := a.installPlugin(); err != nil {
		return err
	}
	toNode := handler.EnqueueRequestsFromMapFunc(func(context.Context, client.Object) []reconcile.Request {
		return []reconcile.Request{syncKey}
	})
	err = ctrl.NewControllerManagedBy(mgr).Named("dataplane").
		Watches(&sbv1.Network{}, toNode).
		Watches(&sbv1.Attachment{}, toNode).
		Complete(reconcile.Func(a.pacedSync))
	if err != nil {
		return fmt.Errorf("create data-plane controller: %w", err)
	}
	err = ctrl.NewControllerManagedBy(mgr).Named("underlay").
		Watches(&corev1.Node{}, handler.EnqueueRequestsFromMapFunc(func(context.Context, client.Object) []reconcile.Request {
			return []reconcile.Request{underlayKey}
		}), builder.WithPredicates(nodeChanged)).
		Complete(reconcile.Func(a.syncUnderlay))
	if err != nil {
		return fmt.Errorf("create underlay admission controller: %w", err)
	}
	for _, room := range opts.Rooms {
		if err := room(ctx, mgr); err != nil {
			return err
		}
	}
	if opts.Primary != nil {
		refresh := func(ctx context.Context) error { _, err := a.syncUnderlay(ctx, underlayKey); return err }
		if err := opts.Primary.Setup(mgr, refresh); err != nil {
			return fmt.Errorf("set up the primary network: %w", err)
		}
	}
	if err := mgr.Add(manager.RunnableFunc(a.serveCNI(mgr))); err != nil {
		return err
	}
	if err := mgr.AddHealthzCheck("ping", healthz.Ping); err != nil {
		return err
	}
	if err := mgr.AddReadyzCheck("dataplane", func(*http.Request) error { return a.ready() }); err != nil {
		return err
	}
	log.Info("starting agent", "node", opts.NodeName, "nodeIP", opts.NodeIP.String(), "underlay", underlay, "socket", opts.Socket)
	// Asked to stop (a restart, or an uninstall), the agent decides about
	// its table at once, while the manager shuts down: the DaemonSet gives
	// it only a few seconds before SIGKILL.
	stopped, decided := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(decided)
		select {
		case <-ctx.Done():
			a.removeUnderlayIfUninstalled()
		case <-stopped: // failed on its own: keep the table
		}
	}()
	err = mgr.Start(ctx)
	close(stopped)
	<-decided
	return err
}

// newUnderlayTable returns the node's table of underlay admission, after
// checking that its rules can be made from opts.
func newUnderlayTable(opts Options) (*firewall.Table, error) {
	if _, err := underlayrules.Spec(underlayConfig(opts.NodeIP, opts.PodInterfaces, nil)); err != nil {
		return nil, fmt.Errorf("--pod-interfaces: %w", err)
	}
	return firewall.New(underlayrules.Family, underlayrules.TableName)
}

// serveCNI serves the plugin once the caches are in sync.
func (a *Agent) serveCNI(mgr manager.Manager) func(context.Context) error {
	return func(ctx context.Context) error {
		if !mgr.GetCache().WaitForCacheSync(ctx) {
			return errors.New("caches did not sync")
		}
		// No pod gets a Switchboard interface before the node admits VXLAN
		// from nodes alone.
		if err := a.installUnderlay(ctx); err != nil {
			return err
		}
		// Converge once before answering: with no Network or Attachment at
		// all no watch event would ever do it, and STATUS would stay "not ready".
		if _, err := a.sync(ctx, syncKey); err != nil {
			a.log.Error(err, "initial data-plane sync failed; the data-plane loop retries")
		}
		go func() { _ = a.collectOrphans(ctx) }()
		l, err := cnirpc.Listen(a.opts.Socket)
		if err != nil {
			return fmt.Errorf("listen on %s: %w", a.opts.Socket, err)
		}
		return server.Serve(ctx, l, a)
	}
}

// minSyncInterval spaces the data-plane loop's convergences while events
// keep coming. When many pods start at once, every pod's Attachment and
// every update of its Network's status wakes the loop, and each
// convergence holds the data plane's lock, which each ADD takes to find
// its network: back to back they starve the ADDs (measured on the lab: 200
// pods at once, 2,574 syncs on one node, 3.9 s per ADD waiting for the
// lock). An event after a quiet spell is converged at once; under churn,
// one convergence takes in every event of its interval.
const minSyncInterval = 200 * time.Millisecond

// pacedSync is the data-plane loop's reconciler: sync, at most once per
// minSyncInterval; an event within the interval is taken in by a sync at
// its end.
func (a *Agent) pacedSync(ctx context.Context, req reconcile.Request) (reconcile.Result, error) {
	if wait := minSyncInterval - time.Since(time.Unix(0, a.lastSync.Load())); wait > 0 {
		return reconcile.Result{RequeueAfter: wait}, nil
	}
	defer func() { a.lastSync.Store(time.Now().UnixNano()) }()
	return a.sync(ctx, req)
}

// sync converges the data plane on the API's view of this node. It runs on
// every Network and Attachment event; desired and desiredShapes only read
// the lists, so these share the cache's objects rather than copying every
// attachment of the cluster on each event.
func (a *Agent) sync(ctx context.Context, _ reconcile.Request) (reconcile.Result, error) {
	var nets sbv1.NetworkList
	if err := a.cache.List(ctx, &nets, client.UnsafeDisableDeepCopy); err != nil {
		return reconcile.Result{}, err
	}
	var atts sbv1.AttachmentList
	if err := a.cache.List(ctx, &atts, client.UnsafeDisableDeepCopy); err != nil {
		return reconcile.Result{}, err
	}
	cfg := desired(a.opts.NodeName, a.base, nets.Items, atts.Items)
	a.setMu.Lock()
	defer a.setMu.Unlock()
	// A change of a Network's limits changes no device: it reaches the
	// running pods here, before the early return below.
	if a.shaped == nil || time.Since(a.appliedAt) >= resyncPeriod {
		a.shaped = map[string]podShape{} // look at every pod again: repairs drift
	}
	a.shapePods(desiredShapes(a.opts.NodeName, nets.Items, atts.Items))
	// Most events do not change this node's data plane (a local pod's own
	// Attachment, say); converging costs tens of milliseconds and holds the
	// data plane's lock that a CNI ADD waits for, so an unchanged config is
	// only re-applied every resyncPeriod, which also repairs drift.
	if a.synced.Load() && reflect.DeepEqual(cfg, a.applied) && time.Since(a.appliedAt) < resyncPeriod {
		return reconcile.Result{RequeueAfter: resyncPeriod - time.Since(a.appliedAt)}, nil
	}
	err := a.dp.Set(cfg)
	var inUse *dataplane.NetworksInUseError
	requeue := reconcile.Result{}
	if errors.As(err, &inUse) {
		// Networks gone from the API whose pods are still here (their DEL
		// has not come yet, or the interface is an orphan the collector will
		// remove) are kept; look again soon, as no event may announce it.
		a.log.Info("keeping networks that still have pods", "ports", inUse.Ports)
		err, requeue = nil, reconcile.Result{RequeueAfter: 10 * time.Second}
	}
	if err != nil {
		a.metrics.syncErrors.Inc()
		return reconcile.Result{}, fmt.Errorf("converge data plane: %w", err)
	}
	remotes := 0
	for _, n := range cfg.Networks {
		remotes += len(n.Remotes)
	}
	a.metrics.networks.Set(float64(len(cfg.Networks)))
	a.metrics.remotes.Set(float64(remotes))
	if inUse == nil { // with networks kept for pods, the next sync must look again
		a.applied, a.appliedAt = cfg, time.Now()
	}
	a.synced.Store(true)
	if requeue.IsZero() {
		requeue = reconcile.Result{RequeueAfter: resyncPeriod}
	}
	return requeue, nil
}

func (a *Agent) ready() error {
	if !a.underlaySynced.Load() {
		return errors.New("switchboard-agent has not installed its underlay admission table (nftables inet switchboard) yet")
	}
	if !a.synced.Load() {
		return errors.New("switchboard-agent has not converged the data plane yet")
	}
	return nil
}

// Healthy answers the CNI plugin's STATUS (server.HealthChecker).
func (a *Agent) Healthy(context.Context) error { return a.ready() }
