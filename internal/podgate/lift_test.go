package podgate

import (
	"context"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/tools/record"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"switchboard/api/v1alpha1"
	"switchboard/internal/apiservertest"
	"switchboard/internal/podnet"
)

// TestLifter runs the Lifter against a real kube-apiserver: a gated pod
// stays gated while its Network has no NAD, and is let go when the NAD
// appears, or after MaxWait, with the events that say so.
func TestLifter(t *testing.T) {
	scheme := runtime.NewScheme()
	for _, add := range []func(*runtime.Scheme) error{clientgoscheme.AddToScheme, v1alpha1.AddToScheme} {
		if err := add(scheme); err != nil {
			t.Fatal(err)
		}
	}
	srv := apiservertest.ForTest(t, scheme, "../operator/testdata")
	c, err := client.New(srv.Config, client.Options{Scheme: scheme})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(c.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "app"}}))
	must(c.Create(ctx, &v1alpha1.Network{ObjectMeta: metav1.ObjectMeta{Namespace: "app", Name: "red"}}))
	gatedPod := func(name string) *corev1.Pod {
		p := podNaming("red")
		p.Name = name
		p.Labels = map[string]string{Label: "true"}
		p.Spec.SchedulingGates = []corev1.PodSchedulingGate{{Name: Gate}}
		must(c.Create(ctx, p))
		return p
	}
	rec := record.NewFakeRecorder(20)
	now := time.Now()
	l := &Lifter{Client: c, Pods: c, Networks: ClientNetworks{Reader: c}, Recorder: rec, Now: func() time.Time { return now }}
	reconcile := func(name string) (ctrl.Result, *corev1.Pod, string) {
		t.Helper()
		key := types.NamespacedName{Namespace: "app", Name: name}
		res, err := l.Reconcile(ctx, ctrl.Request{NamespacedName: key})
		must(err)
		var p corev1.Pod
		must(c.Get(ctx, key, &p))
		select {
		case e := <-rec.Events:
			return res, &p, e
		default:
			return res, &p, ""
		}
	}

	gatedPod("a")
	if reqs := l.naming(ctx, podnet.Ref{Namespace: "app", Name: "red"}); len(reqs) != 1 || reqs[0].Name != "a" {
		t.Errorf("the gated pods naming app/red: %v, want a", reqs)
	}
	res, p, ev := reconcile("a")
	if !Gated(p) || res.RequeueAfter <= 0 || !strings.Contains(ev, "WaitingForNetworks") {
		t.Fatalf("without the NAD: gated %v, requeue %s, event %q; want still gated, a requeue and WaitingForNetworks", Gated(p), res.RequeueAfter, ev)
	}
	nad := newNAD()
	nad.SetNamespace("app")
	nad.SetName("red")
	nad.Object["spec"] = map[string]any{"config": `{"cniVersion":"1.0.0","type":"switchboard"}`}
	must(c.Create(ctx, nad))
	_, p, ev = reconcile("a")
	if Gated(p) || p.Labels[Label] != "" || !strings.Contains(ev, "NetworksPublished") {
		t.Errorf("with the NAD: gated %v, labels %v, event %q; want lifted, unlabelled, NetworksPublished", Gated(p), p.Labels, ev)
	}

	must(c.Delete(ctx, nad))
	gatedPod("b")
	now = now.Add(MaxWait + time.Second)
	_, p, ev = reconcile("b")
	if Gated(p) || !strings.Contains(ev, "Warning NetworksNotPublished") {
		t.Errorf("after MaxWait: gated %v, event %q; want lifted with a Warning", Gated(p), ev)
	}
}
