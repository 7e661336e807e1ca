package topology

import (
	"context"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"switchboard/api/v1alpha1"
	"switchboard/internal/apiservertest"
)

// TestKubeSource: Build through KubeSource against a real API server (the
// envtest tier) finds the network's pod and edge Attachments by label, the
// cluster-scoped Authorizations, the nodes and the edge pod's readiness.
func TestKubeSource(t *testing.T) {
	scheme := runtime.NewScheme()
	for _, add := range []func(*runtime.Scheme) error{clientgoscheme.AddToScheme, v1alpha1.AddToScheme} {
		if err := add(scheme); err != nil {
			t.Fatal(err)
		}
	}
	srv := apiservertest.ForTest(t, scheme)
	c, err := client.New(srv.Config, client.Options{Scheme: scheme})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	const ns, net = "team", "blue"
	create := func(obj client.Object) {
		t.Helper()
		if err := c.Create(ctx, obj); err != nil {
			t.Fatalf("create %T %s: %v", obj, obj.GetName(), err)
		}
	}
	for _, name := range []string{ns, "switchboard-system"} {
		create(&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}})
	}
	n := network(ns, net, v1alpha1.ExtVNet, metav1.ConditionTrue, v1alpha1.ReasonRegistered, 4097, 70001)
	status := n.Status
	n.ObjectMeta = metav1.ObjectMeta{Namespace: ns, Name: net}
	n.Spec.Provider = &v1alpha1.Provider{Name: "idco", Domain: "idco.example:8443"}
	create(n)
	n.Status = status
	n.Status.ObservedGeneration = n.Generation
	if err := c.Status().Update(ctx, n); err != nil {
		t.Fatal(err)
	}
	nd := node("n1", "10.0.0.1")
	create(&nd)
	edgePod := pod("switchboard-system", "edge", "n1", true)
	edgePod.UID = ""
	edgePod.Spec.Containers = []corev1.Container{{Name: "edge", Image: "edge"}}
	podStatus := edgePod.Status
	create(&edgePod)
	edgePod.Status = podStatus
	if err := c.Status().Update(ctx, &edgePod); err != nil {
		t.Fatal(err)
	}
	edge := edgeAttachment(ns, net, "n1", "edge", "sbn4097", v1alpha1.WANWireGuard)
	edge.Spec.Pod.UID = string(edgePod.UID)
	edge.Spec.NodeIP, edge.Spec.ContainerID = "10.0.0.1", ""
	for _, a := range []v1alpha1.Attachment{edge, podAttachment(ns, net, "client", "n1", "net1", "02:00:00:00:00:0a", "10.50.0.10/24"),
		podAttachment(ns, "other", "bob", "n1", "net1", "02:00:00:00:00:0b", "10.9.0.2/24")} {
		a.Spec.NodeIP = "10.0.0.1"
		create(&a)
	}
	auth := decision(ns, "client", net, "alice", true, "")
	create(&auth)

	topo := Build(ctx, net, []Input{{Context: "a", Namespace: ns, Source: KubeSource{Client: c}}})
	cl := topo.Clusters[0]
	if cl.Error != "" || len(cl.Problems) > 0 || len(cl.Nodes) != 1 {
		t.Fatalf("cluster: %+v", cl)
	}
	got := cl.Nodes[0]
	if got.IP != "10.0.0.1" || got.Gateway == nil || !got.Gateway.Ready || got.Gateway.Cable != "sbn4097" {
		t.Errorf("node and gateway: %+v %+v", got, got.Gateway)
	}
	if len(got.Pods) != 1 || got.Pods[0].Name != ns+"/client" || got.Pods[0].User != "alice" || got.Pods[0].IPs[0] != "10.50.0.10/24" {
		t.Errorf("pods (bob is on another network): %+v", got.Pods)
	}
	if cl.Ready != "True" || cl.InterClusterVNI != 70001 {
		t.Errorf("network state: Ready %q, inter-cluster VNI %d", cl.Ready, cl.InterClusterVNI)
	}
}
