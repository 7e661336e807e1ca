package edgectl

import (
	"context"
	"fmt"
	"net/netip"
	"strings"
	"switchboard/internal/idco"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	sbv1 "switchboard/api/v1alpha1"
	"switchboard/internal/edge"
)

// fakeEdge records every Config it is given; its links are all ready.
type fakeEdge struct {
	mu   sync.Mutex
	sets []edge.Config
}

func (f *fakeEdge) Set(c edge.Config) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.sets = append(f.sets, c)
	return nil
}

func (f *fakeEdge) Status() (edge.Status, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var st edge.Status
	if n := len(f.sets); n > 0 {
		for _, l := range f.sets[n-1].Links {
			st.Links = append(st.Links, edge.LinkStatus{ID: l.ID, Ready: true})
		}
	}
	return st, nil
}

// links renders the last Config's links, and how many Sets there were.
func (f *fakeEdge) links() (string, int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.sets) == 0 {
		return "<no Set>", 0
	}
	var out []string
	for _, l := range f.sets[len(f.sets)-1].Links {
		s := fmt.Sprintf("%d %s", l.ID, l.Cable)
		for _, p := range l.Peers {
			s += " " + p.Cluster + "@" + p.Endpoint.String()
		}
		out = append(out, s)
	}
	return strings.Join(out, ";"), len(f.sets)
}

// metric returns the value of a gauge or counter (summed over labels).
func metric(t *testing.T, reg *prometheus.Registry, name string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	must(t, err)
	v := 0.0
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			v += m.GetGauge().GetValue() + m.GetCounter().GetValue()
		}
	}
	return v
}

func eventually(t *testing.T, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		ok, got := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: still %s", what, got)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// edgeAttachments renders the cluster's edge Attachments.
func edgeAttachments(t *testing.T, c client.Client) string {
	t.Helper()
	var list sbv1.AttachmentList
	must(t, c.List(context.Background(), &list))
	var out []string
	for _, a := range list.Items {
		if a.Spec.IsEdge() {
			out = append(out, fmt.Sprintf("%s/%s %s %s pod=%s", a.Namespace, a.Name, a.Spec.NodeIP, a.Spec.Interface, a.Spec.Pod.Name))
		}
	}
	return strings.Join(out, ";")
}

// TestControlLoop runs the loop against a real IDCO and a fake API and
// kernel: it connects an authorized network, replaces a stale edge
// Attachment and leaves pods' alone, keeps the link while the IDCO is
// down, picks up again when it is back, and disconnects when the
// authorization ends.
func TestControlLoop(t *testing.T) {
	srv := newTestIDCO(t)
	ctx := context.Background()
	must(t, srv.svc.SetEdgeEndpoint(ctx, "b", idco.EdgeEndpointRequest{Endpoint: "198.19.0.11:4790"}))
	idA, _ := srv.connect("inter")

	scheme := runtime.NewScheme()
	must(t, sbv1.AddToScheme(scheme))
	stale := &sbv1.Attachment{
		ObjectMeta: metav1.ObjectMeta{Namespace: "t1", Name: "old-edge-gw", UID: "u-old",
			Labels: map[string]string{sbv1.LabelNode: "gw", sbv1.LabelNetwork: "old"}},
		Spec: sbv1.AttachmentSpec{Network: "old", Role: sbv1.RoleEdge, Node: "gw"},
	}
	podAtt := &sbv1.Attachment{
		ObjectMeta: metav1.ObjectMeta{Namespace: "t1", Name: "red-10-0-0-2", UID: "u-pod",
			Labels: map[string]string{sbv1.LabelNode: "gw", sbv1.LabelNetwork: "red"}},
		Spec: sbv1.AttachmentSpec{Network: "red", Node: "gw", MAC: "02:00:00:00:00:02"},
	}
	// The previous edge pod's attachment: taken over, not recreated.
	prev := &sbv1.Attachment{
		ObjectMeta: metav1.ObjectMeta{Namespace: "t1", Name: "red-edge-gw", UID: "u-prev",
			Labels: map[string]string{sbv1.LabelNode: "gw", sbv1.LabelNetwork: "red"}},
		Spec: sbv1.AttachmentSpec{Network: "red", Role: sbv1.RoleEdge, Node: "gw", NodeIP: "198.18.0.10", Interface: "sbn4096",
			Pod: sbv1.PodRef{Namespace: "switchboard-system", Name: "edge-0", UID: "u-edge0"}},
	}
	kube := fake.NewClientBuilder().WithScheme(scheme).WithObjects(stale, podAtt, prev).Build()
	fe := &fakeEdge{}
	reg := prometheus.NewRegistry()
	c, err := New(Options{
		Cluster:   "a",
		Local:     Local{Node: "gw", WAN: netip.MustParseAddr("198.19.0.10"), WANDevice: "wan0"},
		NodeIP:    netip.MustParseAddr("198.18.0.10"),
		Pod:       sbv1.PodRef{Namespace: "switchboard-system", Name: "edge-1", UID: "u-edge"},
		Providers: []Provider{{Name: "idco-test", IDCO: srv.client("a")}},
		Client:    kube, Edge: fe, Metrics: reg,
		PollWait: time.Second, Resync: 100 * time.Millisecond, Retry: 50 * time.Millisecond,
		Backoff: [2]time.Duration{20 * time.Millisecond, 100 * time.Millisecond},
	})
	must(t, err)
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- c.Run(runCtx) }()
	defer func() { cancel(); <-done }()

	// The IDCO numbers the network; whatever it chose, one link to b.
	eventually(t, "link to b", func() (bool, string) {
		l, _ := fe.links()
		return strings.HasSuffix(l, " sbn4096 b@198.19.0.11") && !strings.Contains(l, ";"), l
	})
	link, _ := fe.links()
	wantAtt := "t1/red-edge-gw 198.18.0.10 sbn4096 pod=edge-1"
	eventually(t, "edge attachments", func() (bool, string) {
		got := edgeAttachments(t, kube)
		return got == wantAtt, got
	})
	var still sbv1.Attachment
	must(t, kube.Get(ctx, client.ObjectKeyFromObject(podAtt), &still))
	must(t, kube.Get(ctx, client.ObjectKeyFromObject(prev), &still))
	if still.UID != "u-prev" {
		t.Errorf("the previous edge pod's attachment was recreated (UID %s), want it updated in place", still.UID)
	}
	if cl, err := srv.svc.Cluster(ctx, "a"); err != nil || cl.EdgeEndpoint != "198.19.0.10:4790" {
		t.Errorf("cluster a at the IDCO: %+v, %v; want edge endpoint 198.19.0.10:4790", cl, err)
	}
	if links, ready := metric(t, reg, "switchboard_edge_links"), metric(t, reg, "switchboard_edge_links_ready"); c.Ready() != nil || links != 1 || ready != 1 {
		t.Errorf("ready %v, links %v, ready links %v; want ready, 1, 1", c.Ready(), links, ready)
	}

	// The IDCO goes away: errors are counted, the link stays.
	srv.stop()
	_, before := fe.links()
	eventually(t, "IDCO errors counted", func() (bool, string) {
		n := metric(t, reg, "switchboard_edge_idco_errors_total")
		return n >= 2, fmt.Sprint(n, " errors")
	})
	eventually(t, "re-converged while the IDCO is down", func() (bool, string) {
		_, after := fe.links()
		return after >= before+2, fmt.Sprint(after-before, " Sets")
	})
	if l, _ := fe.links(); l != link {
		t.Errorf("while the IDCO is down: link %q, want %q kept", l, link)
	}
	if got := edgeAttachments(t, kube); got != wantAtt {
		t.Errorf("while the IDCO is down: attachments %q, want %q", got, wantAtt)
	}

	// It comes back with its database; the authorization ends: disconnect.
	srv.start()
	must(t, srv.svc.Release(ctx, "a", idA))
	eventually(t, "link removed", func() (bool, string) {
		l, _ := fe.links()
		return l == "", l
	})
	eventually(t, "edge attachment removed", func() (bool, string) {
		got := edgeAttachments(t, kube)
		return got == "", got
	})
	must(t, kube.Get(ctx, client.ObjectKeyFromObject(podAtt), &still))
}

// TestChangedConvergesAtOnce: a signal on Options.Changed (the tunnel's
// device was made anew) converges at once with the configs at hand, long
// before the resync.
func TestChangedConvergesAtOnce(t *testing.T) {
	srv := newTestIDCO(t)
	ctx := context.Background()
	must(t, srv.svc.SetEdgeEndpoint(ctx, "b", idco.EdgeEndpointRequest{Endpoint: "198.19.0.11:4790"}))
	srv.connect("inter")
	scheme := runtime.NewScheme()
	must(t, sbv1.AddToScheme(scheme))
	fe := &fakeEdge{}
	changed := make(chan struct{}, 1)
	c, err := New(Options{
		Cluster:   "a",
		Local:     Local{Node: "gw", WAN: netip.MustParseAddr("198.19.0.10"), WANDevice: "wan0"},
		NodeIP:    netip.MustParseAddr("198.18.0.10"),
		Pod:       sbv1.PodRef{Namespace: "switchboard-system", Name: "edge-1", UID: "u-edge"},
		Providers: []Provider{{Name: "idco-test", IDCO: srv.client("a")}},
		Client:    fake.NewClientBuilder().WithScheme(scheme).Build(), Edge: fe,
		PollWait: time.Hour, Resync: time.Hour, Changed: changed,
	})
	must(t, err)
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- c.Run(runCtx) }()
	defer func() { cancel(); <-done }()
	eventually(t, "first convergence", func() (bool, string) {
		l, n := fe.links()
		return n >= 1 && l != "", l
	})
	_, before := fe.links()
	changed <- struct{}{}
	eventually(t, "convergence after the change", func() (bool, string) {
		_, n := fe.links()
		return n > before, fmt.Sprint(n-before, " Sets")
	})
}
