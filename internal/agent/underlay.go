package agent

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"switchboard/internal/firewall"
	"switchboard/internal/firewall/underlay"
	"switchboard/internal/uninstall"
)

// Underlay admission: the agent owns the node's nftables table "inet
// switchboard" (package underlay), which lets VXLAN in only from the
// cluster's nodes and never from pods. Its node-address and pod-CIDR sets
// follow the Node objects. The table is installed before the agent serves
// the CNI plugin, is replaced whole (never deleted) on every change and
// restart, and is deleted only when Switchboard is uninstalled.

// +kubebuilder:rbac:groups="",resources=nodes,verbs=get;list;watch
// +kubebuilder:rbac:groups=apps,resources=daemonsets,verbs=get

// underlayTable is the node's table of underlay admission: a
// *firewall.Table, or fakeTable in the tests.
type underlayTable interface {
	Set(firewall.Spec) error
	Delete() error
}

// underlayKey is the single work item of the underlay loop: every change
// of a Node recomputes the whole table.
var underlayKey = reconcile.Request{NamespacedName: types.NamespacedName{Name: "underlay"}}

// underlayConfig returns the table's input: every node's InternalIPs
// (self always, even before its Node object is seen) and pod CIDRs.
func underlayConfig(self netip.Addr, podIfs []string, nodes []corev1.Node) underlay.Config {
	cfg := underlay.Config{Nodes: []netip.Addr{self}, PodInterfaces: podIfs}
	for _, n := range nodes {
		for _, a := range n.Status.Addresses {
			if a.Type != corev1.NodeInternalIP {
				continue
			}
			if ip, err := netip.ParseAddr(a.Address); err == nil && !slices.Contains(cfg.Nodes, ip.Unmap()) {
				cfg.Nodes = append(cfg.Nodes, ip.Unmap())
			}
		}
		cidrs := n.Spec.PodCIDRs
		if len(cidrs) == 0 && n.Spec.PodCIDR != "" {
			cidrs = []string{n.Spec.PodCIDR}
		}
		for _, c := range cidrs {
			if p, err := netip.ParsePrefix(c); err == nil {
				cfg.PodCIDRs = append(cfg.PodCIDRs, p.Masked())
			}
		}
	}
	slices.SortFunc(cfg.Nodes, netip.Addr.Compare)
	return cfg
}

// syncUnderlay converges the table on the API's Nodes. An unchanged table
// is only set again every resyncPeriod, which repairs drift (and resets
// the rules' counters).
func (a *Agent) syncUnderlay(ctx context.Context, _ reconcile.Request) (reconcile.Result, error) {
	var nodes corev1.NodeList
	if err := a.cache.List(ctx, &nodes); err != nil {
		return reconcile.Result{}, err
	}
	cfg := underlayConfig(a.opts.NodeIP, a.opts.PodInterfaces, nodes.Items)
	spec, err := underlay.Spec(cfg)
	if err != nil {
		return reconcile.Result{}, fmt.Errorf("underlay admission rules: %w", err)
	}
	if a.opts.Primary != nil {
		extra, err := a.opts.Primary.Rules(ctx)
		if err != nil {
			return reconcile.Result{}, fmt.Errorf("primary network rules: %w", err)
		}
		spec.Sets = append(spec.Sets, extra.Sets...)
		spec.Chains = append(spec.Chains, extra.Chains...)
		if err := spec.Validate(); err != nil {
			return reconcile.Result{}, fmt.Errorf("node table with the primary network's rules: %w", err)
		}
	}
	a.underlayMu.Lock()
	defer a.underlayMu.Unlock()
	prev := a.underlayApplied
	if a.underlaySynced.Load() && spec.String() == prev.spec && time.Since(prev.at) < resyncPeriod {
		return reconcile.Result{RequeueAfter: resyncPeriod - time.Since(prev.at)}, nil
	}
	if err := a.underlay.Set(spec); err != nil {
		a.metrics.underlaySyncs.WithLabelValues("error").Inc()
		return reconcile.Result{}, fmt.Errorf("install underlay admission table: %w", err)
	}
	a.metrics.underlaySyncs.WithLabelValues("ok").Inc()
	a.metrics.underlayNodes.Set(float64(len(cfg.Nodes)))
	a.metrics.underlayPodCIDRs.Set(float64(len(cfg.PodCIDRs)))
	added, removed := diffAddrs(prev.nodes, cfg.Nodes)
	if !a.underlaySynced.Load() || len(added)+len(removed) > 0 || spec.String() != prev.spec {
		a.log.Info("set underlay admission table", "table", underlay.Family.String()+" "+underlay.TableName,
			"nodeAddresses", len(cfg.Nodes), "podCIDRs", len(cfg.PodCIDRs), "added", added, "removed", removed)
	}
	a.underlayApplied = appliedUnderlay{spec: spec.String(), nodes: cfg.Nodes, at: time.Now()}
	a.underlaySynced.Store(true)
	return reconcile.Result{RequeueAfter: resyncPeriod}, nil
}

// appliedUnderlay is what the table was last set to, and when.
type appliedUnderlay struct {
	spec  string
	nodes []netip.Addr
	at    time.Time
}

// diffAddrs returns the addresses of b not in a, and of a not in b.
func diffAddrs(a, b []netip.Addr) (added, removed []string) {
	for _, x := range b {
		if !slices.Contains(a, x) {
			added = append(added, x.String())
		}
	}
	for _, x := range a {
		if !slices.Contains(b, x) {
			removed = append(removed, x.String())
		}
	}
	return added, removed
}

// installUnderlay sets the table once the caches are in sync, retrying
// until it succeeds or ctx ends: the agent serves nothing before.
func (a *Agent) installUnderlay(ctx context.Context) error {
	wait := time.Second
	for {
		_, err := a.syncUnderlay(ctx, underlayKey)
		if err == nil {
			return nil
		}
		a.log.Error(err, "install underlay admission table; retrying", "in", wait.String())
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(wait):
		}
		wait = min(2*wait, 30*time.Second)
	}
}

// nodeChanged lets through the Node events that can change the table:
// creations, deletions, and updates of addresses or pod CIDRs (not the
// kubelet's status heartbeats).
var nodeChanged = predicate.Funcs{
	UpdateFunc: func(e event.UpdateEvent) bool {
		o, ok1 := e.ObjectOld.(*corev1.Node)
		n, ok2 := e.ObjectNew.(*corev1.Node)
		return !ok1 || !ok2 || !slices.Equal(o.Status.Addresses, n.Status.Addresses) ||
			o.Spec.PodCIDR != n.Spec.PodCIDR || !slices.Equal(o.Spec.PodCIDRs, n.Spec.PodCIDRs)
	},
}

// trimNode keeps of a Node what underlay admission reads, so that every
// agent's cache of all Nodes stays small (no images, conditions, ...).
func trimNode(obj any) (any, error) {
	n, ok := obj.(*corev1.Node)
	if !ok {
		return obj, nil
	}
	return &corev1.Node{
		TypeMeta: n.TypeMeta,
		ObjectMeta: metav1.ObjectMeta{
			Name: n.Name, UID: n.UID, ResourceVersion: n.ResourceVersion,
			Labels:            n.Labels, // BGPPeers and BGPAdvertisements select nodes by label
			DeletionTimestamp: n.DeletionTimestamp,
		},
		Spec:   corev1.NodeSpec{PodCIDR: n.Spec.PodCIDR, PodCIDRs: n.Spec.PodCIDRs},
		Status: corev1.NodeStatus{Addresses: n.Status.Addresses},
	}, nil
}

// removeUnderlayIfUninstalled deletes the table when the agent stops
// because Switchboard is being uninstalled, and keeps it on a plain
// restart (rolling update, pod deleted, node drained), so that the rules
// are never absent while Switchboard runs.
func (a *Agent) removeUnderlayIfUninstalled() {
	ctx, cancel := context.WithTimeout(context.Background(), uninstall.Timeout)
	defer cancel()
	gone, why := uninstall.Check(ctx, a.apiReader, a.opts.DaemonSet)
	if !gone {
		a.log.Info("keeping underlay admission table", "reason", why)
		return
	}
	if err := a.underlay.Delete(); err != nil {
		a.log.Error(err, "delete underlay admission table at uninstall", "reason", why)
		return
	}
	a.log.Info("deleted underlay admission table: switchboard is being uninstalled", "reason", why)
}
