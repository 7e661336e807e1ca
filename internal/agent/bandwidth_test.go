package agent

import (
	"context"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"

	sbv1 "switchboard/api/v1alpha1"
	"switchboard/internal/bandwidth"
	"switchboard/internal/cnirpc"
	"switchboard/internal/dataplane"
	"switchboard/internal/netdev"
	"switchboard/internal/netnstest"
	"switchboard/internal/podnet"
)

func quantity(s string) *resource.Quantity {
	q := resource.MustParse(s)
	return &q
}

func TestDesiredShapes(t *testing.T) {
	red := net1("t1", "red", 100, 0)
	red.Spec.Bandwidth = &sbv1.NetworkBandwidth{IngressRate: quantity("20M"), EgressRate: quantity("40M")}
	bad := net1("t1", "bad", 101, 0)
	bad.Spec.Bandwidth = &sbv1.NetworkBandwidth{IngressRate: quantity("-1")}
	plain := net1("t1", "plain", 102, 0)
	local := func(name, network string, pod *sbv1.PodBandwidth) sbv1.Attachment {
		a := att("t1", name, network, testNode, "198.18.250.1", "02:00:00:00:00:01")
		a.Spec.ContainerID, a.Spec.Interface, a.Spec.NetNS, a.Spec.Bandwidth = "c-"+name, "net1", "/run/netns/"+name, pod
		return a
	}
	noNS := local("nons", "red", nil)
	noNS.Spec.NetNS = ""
	remote := local("remote", "red", nil)
	remote.Spec.Node = "n2"
	got := desiredShapes(testNode, []sbv1.Network{red, bad, plain}, []sbv1.Attachment{
		local("a", "red", nil),
		local("b", "red", &sbv1.PodBandwidth{EgressRate: 30_000_000, EgressBurst: 300_000}),
		local("c", "plain", nil),
		local("d", "bad", nil),
		local("e", "red", &sbv1.PodBandwidth{EgressRate: -3}),
		local("f", "gone", nil),
		noNS, remote,
	})
	mb := func(m uint64) bandwidth.Shape { return bandwidth.Shape{Rate: m * 1_000_000} }
	want := map[string]podShape{
		"t1/a": {"c-a", "/run/netns/a", "net1", bandwidth.Limits{Ingress: mb(20), Egress: mb(40)}},
		"t1/b": {"c-b", "/run/netns/b", "net1", bandwidth.Limits{Ingress: mb(20), Egress: bandwidth.Shape{Rate: 30_000_000, Burst: 300_000}}},
		"t1/c": {"c-c", "/run/netns/c", "net1", bandwidth.Limits{}},
	}
	if len(got) != len(want) {
		t.Errorf("got %d shapes %+v, want %d", len(got), got, len(want))
	}
	for k, w := range want {
		if got[k] != w {
			t.Errorf("%s: got %+v, want %+v", k, got[k], w)
		}
	}
}

// shapes reads the rates of a pod interface's two ends: what the host end
// sends (the pod's ingress) and what the pod end sends (its egress).
func shapes(t *testing.T, ta *testAgent, id string, pod *netnstest.NS) (ingress, egress uint64) {
	t.Helper()
	hn, hp := ta.node.Handle(t), pod.Handle(t)
	host, err := hn.LinkByName(dataplane.HostIfName(id, "net1"))
	if err != nil {
		t.Fatal(err)
	}
	peer, err := hp.LinkByName("net1")
	if err != nil {
		t.Fatal(err)
	}
	in, _, err := netdev.ShapeOf(hn, host)
	if err != nil {
		t.Fatal(err)
	}
	out, _, err := netdev.ShapeOf(hp, peer)
	if err != nil {
		t.Fatal(err)
	}
	return in, out
}

// TestAddShapesAndSyncReshapes: ADD shapes a pod interface to its
// network's limits with the pod's own request (from the annotation with a
// seed-format config, or from runtimeConfig.bandwidth) replacing them
// direction by direction; a change of the network's limits reaches the
// running pods at the next sync, and removing them unshapes what the pods
// did not ask for themselves. A request out of bounds fails ADD.
func TestAddShapesAndSyncReshapes(t *testing.T) {
	sel := `[{"name":"red","bandwidth":{"egressRate":30000000}}]`
	p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "t1", Name: "p1", UID: "u1", Annotations: map[string]string{podnet.Annotation: sel}}}
	bad := `[{"name":"red","bandwidth":{"egressRate":-5}}]`
	p3 := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "t1", Name: "p3", UID: "u3", Annotations: map[string]string{podnet.Annotation: bad}}}
	ta := newTestAgentIn(t, netnstest.NewPrefixed(t, "sbbw"), "10.50.0.0/24", interceptor.Funcs{}, p, p3)
	ctx := context.Background()
	setLimits := func(b *sbv1.NetworkBandwidth) {
		t.Helper()
		var n sbv1.Network
		if err := ta.k8s.Get(ctx, client.ObjectKey{Namespace: "t1", Name: "red"}, &n); err != nil {
			t.Fatal(err)
		}
		n.Spec.Bandwidth = b
		if err := ta.k8s.Update(ctx, &n); err != nil {
			t.Fatal(err)
		}
	}
	setLimits(&sbv1.NetworkBandwidth{IngressRate: quantity("20M"), EgressRate: quantity("40M")})

	pod1, pod2 := ta.env.NS("pod1"), ta.env.NS("pod2")
	if err := ta.call("ADD", "c1", pod1, seedConfig); err != nil {
		t.Fatalf("ADD with the annotation's bandwidth: %v", err)
	}
	rc := `{"cniVersion":"1.0.0","name":"red","type":"switchboard","network":"t1/red","capabilities":{"ips":true,"mac":true,"bandwidth":true},"runtimeConfig":{"bandwidth":{"ingressRate":50000000}}}`
	if err := ta.call("ADD", "c2", pod2, rc); err != nil {
		t.Fatalf("ADD with runtimeConfig.bandwidth: %v", err)
	}
	check := func(when, id string, pod *netnstest.NS, wantIn, wantOut uint64) {
		t.Helper()
		if in, out := shapes(t, ta, id, pod); in != wantIn || out != wantOut {
			t.Errorf("%s: %s shaped to ingress %d, egress %d bit/s; want %d, %d", when, id, in, out, wantIn, wantOut)
		}
	}
	check("after ADD", "c1", pod1, 20_000_000, 30_000_000)
	check("after ADD", "c2", pod2, 50_000_000, 40_000_000)
	if err := ta.call("CHECK", "c1", pod1, seedConfig); err != nil {
		t.Errorf("CHECK: %v", err)
	}

	setLimits(&sbv1.NetworkBandwidth{IngressRate: quantity("25M"), EgressRate: quantity("60M")})
	if _, err := ta.sync(ctx, syncKey); err != nil {
		t.Fatal(err)
	}
	check("after the network's limits changed", "c1", pod1, 25_000_000, 30_000_000)
	check("after the network's limits changed", "c2", pod2, 50_000_000, 60_000_000)

	setLimits(nil)
	if _, err := ta.sync(ctx, syncKey); err != nil {
		t.Fatal(err)
	}
	check("after the network's limits went", "c1", pod1, 0, 30_000_000)
	check("after the network's limits went", "c2", pod2, 50_000_000, 0)

	resp := ta.Handle(ctx, cnirpc.Request{
		Command: "ADD", ContainerID: "c3", NetNS: ta.env.NS("pod3").Path, IfName: "net1",
		Args: "K8S_POD_NAMESPACE=t1;K8S_POD_NAME=p3;K8S_POD_UID=u3", Config: []byte(seedConfig),
	})
	if resp.Error == nil || !strings.Contains(resp.Error.Msg, "bandwidth.egressRate -5 is negative") {
		t.Errorf("ADD with a negative egressRate in the annotation: %v, want a refusal naming it", resp.Error)
	}
}
