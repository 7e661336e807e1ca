package agent

import (
	"context"
	"errors"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-logr/logr"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"
	"sigs.k8s.io/controller-runtime/pkg/event"

	"switchboard/internal/firewall"
)

// fakeTable records what the agent does to its underlay admission table:
// the spec of each Set, as text, and the Deletes.
type fakeTable struct {
	mu      sync.Mutex
	sets    []string
	deletes int
	fail    int // fail this many calls of Set first
}

func (f *fakeTable) Set(s firewall.Spec) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fail > 0 {
		f.fail--
		return errors.New("netlink: operation not permitted")
	}
	f.sets = append(f.sets, s.String())
	return nil
}

func (f *fakeTable) Delete() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.deletes++
	return nil
}

// last returns the last spec set and how many Sets there were.
func (f *fakeTable) last() (string, int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.sets) == 0 {
		return "", 0
	}
	return f.sets[len(f.sets)-1], len(f.sets)
}

var selfIP = netip.MustParseAddr("198.18.0.10")

func node(name, podCIDR string, addrs ...corev1.NodeAddress) *corev1.Node {
	n := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name}, Status: corev1.NodeStatus{Addresses: addrs}}
	if podCIDR != "" {
		n.Spec.PodCIDR, n.Spec.PodCIDRs = podCIDR, []string{podCIDR}
	}
	return n
}

func internalIP(a string) corev1.NodeAddress {
	return corev1.NodeAddress{Type: corev1.NodeInternalIP, Address: a}
}

// underlayAgent is an agent with a fake table and an API server holding
// objs, which funcs may intercept.
func underlayAgent(t *testing.T, funcs interceptor.Funcs, objs ...client.Object) (*Agent, *fakeTable, client.Client) {
	t.Helper()
	scheme := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	k8s := fake.NewClientBuilder().WithScheme(scheme).WithObjects(objs...).WithInterceptorFuncs(funcs).Build()
	tb := &fakeTable{}
	a := &Agent{
		opts: Options{
			NodeName: "a-node1", NodeIP: selfIP, PodInterfaces: []string{"cni0"},
			DaemonSet: types.NamespacedName{Namespace: "switchboard-system", Name: "switchboard-agent"},
		},
		log: logr.Discard(), client: k8s, cache: k8s, apiReader: k8s,
		metrics: newMetrics(), underlay: tb,
	}
	return a, tb, k8s
}

func TestUnderlayConfig(t *testing.T) {
	nodes := []corev1.Node{
		*node("a-node2", "10.10.1.0/24", internalIP("198.18.0.11"), corev1.NodeAddress{Type: corev1.NodeExternalIP, Address: "203.0.113.9"}),
		*node("a-node3", "", internalIP("fd00:18::12"), internalIP("198.18.0.12"), corev1.NodeAddress{Type: corev1.NodeHostName, Address: "a-node3"}),
		{ObjectMeta: metav1.ObjectMeta{Name: "a-node1"}, Spec: corev1.NodeSpec{PodCIDR: "10.10.0.0/24"}, Status: corev1.NodeStatus{Addresses: []corev1.NodeAddress{internalIP("198.18.0.10")}}},
		*node("a-node4", "10.10.3.0/24", internalIP("not an address")),
		*node("a-node5", "10.10.4.0/24"), // not yet given an address
	}
	cfg := underlayConfig(selfIP, []string{"cni0"}, nodes)
	got := []string{}
	for _, a := range cfg.Nodes {
		got = append(got, a.String())
	}
	// Only InternalIPs, deduplicated (self is listed by its Node too),
	// sorted; pod CIDRs from spec.podCIDRs or the older spec.podCIDR.
	if want := "198.18.0.10 198.18.0.11 198.18.0.12 fd00:18::12"; strings.Join(got, " ") != want {
		t.Errorf("nodes %s, want %s", strings.Join(got, " "), want)
	}
	if want := "[10.10.1.0/24 10.10.0.0/24 10.10.3.0/24 10.10.4.0/24]"; toString(cfg.PodCIDRs) != want {
		t.Errorf("pod CIDRs %v, want %s", cfg.PodCIDRs, want)
	}
	if len(cfg.PodInterfaces) != 1 || cfg.PodInterfaces[0] != "cni0" {
		t.Errorf("pod interfaces %v, want [cni0]", cfg.PodInterfaces)
	}
	if empty := underlayConfig(selfIP, nil, nil); len(empty.Nodes) != 1 || empty.Nodes[0] != selfIP {
		t.Errorf("no Node objects yet: nodes %v, want this node's own address alone", empty.Nodes)
	}
}

func toString(ps []netip.Prefix) string {
	s := "["
	for i, p := range ps {
		if i > 0 {
			s += " "
		}
		s += p.String()
	}
	return s + "]"
}

func TestSyncUnderlayFollowsNodes(t *testing.T) {
	ctx := context.Background()
	a, tb, k8s := underlayAgent(t, interceptor.Funcs{},
		node("a-node1", "10.10.0.0/24", internalIP(selfIP.String())),
		node("a-node2", "10.10.1.0/24", internalIP("198.18.0.11")))
	if err := a.ready(); err == nil || !strings.Contains(err.Error(), "underlay admission") {
		t.Fatalf("ready before the table is set = %v, want an error naming the table", err)
	}
	sync := func() string {
		t.Helper()
		if _, err := a.syncUnderlay(ctx, underlayKey); err != nil {
			t.Fatal(err)
		}
		s, _ := tb.last()
		return s
	}
	spec := sync()
	if !strings.Contains(spec, "elements = { 198.18.0.10, 198.18.0.11 }") || !strings.Contains(spec, "elements = { 10.10.0.0/23 }") ||
		!strings.Contains(spec, `iifname "cni0"`) {
		t.Fatalf("first table:\n%s", spec)
	}
	if !a.underlaySynced.Load() {
		t.Error("underlaySynced is false after a Set")
	}
	// Nothing changed: no new Set (it would reset the counters).
	sync()
	if _, n := tb.last(); n != 1 {
		t.Errorf("%d Sets after an unchanged sync, want 1", n)
	}
	// A node joins, another leaves.
	if err := k8s.Create(ctx, node("a-node3", "10.10.2.0/24", internalIP("198.18.0.12"))); err != nil {
		t.Fatal(err)
	}
	if err := k8s.Delete(ctx, node("a-node2", "")); err != nil {
		t.Fatal(err)
	}
	spec = sync()
	if !strings.Contains(spec, "elements = { 198.18.0.10, 198.18.0.12 }") || !strings.Contains(spec, "elements = { 10.10.0.0/24, 10.10.2.0/24 }") {
		t.Errorf("after a-node3 joined and a-node2 left:\n%s", spec)
	}
	if _, n := tb.last(); n != 2 {
		t.Errorf("%d Sets, want 2", n)
	}
	// After resyncPeriod, an unchanged table is set again (drift repair).
	a.underlayApplied.at = time.Now().Add(-resyncPeriod)
	sync()
	if _, n := tb.last(); n != 3 {
		t.Errorf("%d Sets after resyncPeriod, want 3", n)
	}
}

func TestInstallUnderlayRetries(t *testing.T) {
	a, tb, _ := underlayAgent(t, interceptor.Funcs{}, node("a-node1", "10.10.0.0/24", internalIP(selfIP.String())))
	tb.fail = 1
	if err := a.installUnderlay(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, n := tb.last(); n != 1 || !a.underlaySynced.Load() {
		t.Errorf("after one failure: %d Sets (want 1), synced %v", n, a.underlaySynced.Load())
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	tb.fail = 100
	a.underlaySynced.Store(false)
	if err := a.installUnderlay(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("installUnderlay with the table failing and ctx done = %v, want context.Canceled", err)
	}
}

func TestTableRemovedOnlyAtUninstall(t *testing.T) {
	dsKey := types.NamespacedName{Namespace: "switchboard-system", Name: "switchboard-agent"}
	ds := func(deleting bool) *appsv1.DaemonSet {
		d := &appsv1.DaemonSet{ObjectMeta: metav1.ObjectMeta{Namespace: dsKey.Namespace, Name: dsKey.Name}}
		if deleting {
			now := metav1.Now()
			d.DeletionTimestamp, d.Finalizers = &now, []string{"foregroundDeletion"}
		}
		return d
	}
	failGet := func(err error) interceptor.Funcs {
		return interceptor.Funcs{Get: func(context.Context, client.WithWatch, client.ObjectKey, client.Object, ...client.GetOption) error {
			return err
		}}
	}
	gr := schema.GroupResource{Group: "apps", Resource: "daemonsets"}
	for _, tc := range []struct {
		name    string
		funcs   interceptor.Funcs
		objs    []client.Object
		noNS    bool
		deletes int
	}{
		{name: "restart: the DaemonSet exists", objs: []client.Object{ds(false)}, deletes: 0},
		{name: "uninstall: the DaemonSet is gone", deletes: 1},
		{name: "uninstall: the DaemonSet is being deleted", objs: []client.Object{ds(true)}, deletes: 1},
		{name: "uninstall: the agent's RBAC is gone", funcs: failGet(apierrors.NewForbidden(gr, dsKey.Name, errors.New("no"))), deletes: 1},
		{name: "uninstall: the agent's ServiceAccount is gone", funcs: failGet(apierrors.NewUnauthorized("token")), deletes: 1},
		{name: "unknown: the API server does not answer", funcs: failGet(apierrors.NewTimeoutError("slow", 1)), deletes: 0},
		{name: "unknown: no POD_NAMESPACE", noNS: true, deletes: 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a, tb, _ := underlayAgent(t, tc.funcs, tc.objs...)
			if tc.noNS {
				a.opts.DaemonSet.Namespace = ""
			}
			a.removeUnderlayIfUninstalled()
			if tb.deletes != tc.deletes {
				t.Errorf("%d Deletes, want %d", tb.deletes, tc.deletes)
			}
		})
	}
}

// The Node predicate ignores heartbeats but not address or pod CIDR changes.
func TestNodeChanged(t *testing.T) {
	old := node("a-node2", "10.10.1.0/24", internalIP("198.18.0.11"))
	beat := old.DeepCopy()
	beat.Status.Conditions = []corev1.NodeCondition{{Type: corev1.NodeReady, LastHeartbeatTime: metav1.Now()}}
	moved := old.DeepCopy()
	moved.Status.Addresses = []corev1.NodeAddress{internalIP("198.18.0.21")}
	recidr := old.DeepCopy()
	recidr.Spec.PodCIDRs = []string{"10.10.1.0/24", "fd00:10:1::/64"}
	for _, tc := range []struct {
		n    *corev1.Node
		want bool
	}{{beat, false}, {moved, true}, {recidr, true}} {
		if got := nodeChanged.Update(event.UpdateEvent{ObjectOld: old, ObjectNew: tc.n}); got != tc.want {
			t.Errorf("update to %+v: %v, want %v", tc.n.Status, got, tc.want)
		}
	}
	beat.Labels = map[string]string{"rack": "a"} // BGP selectors read them from this cache
	if trimmed, _ := trimNode(beat); len(trimmed.(*corev1.Node).Status.Conditions) != 0 || trimmed.(*corev1.Node).Spec.PodCIDR != "10.10.1.0/24" || trimmed.(*corev1.Node).Labels["rack"] != "a" {
		t.Errorf("trimNode kept %+v", trimmed)
	}
}
