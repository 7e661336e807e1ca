package operator_test

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"switchboard/api/v1alpha1"
	"switchboard/internal/ipam"
	"switchboard/internal/operator"
)

var nadGVK = schema.GroupVersionKind{Group: "k8s.cni.cncf.io", Version: "v1", Kind: "NetworkAttachmentDefinition"}

func network(ns, name string, ipam *v1alpha1.IPAM) *v1alpha1.Network {
	return &v1alpha1.Network{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec:       v1alpha1.NetworkSpec{IPAM: ipam},
	}
}

func getNAD(ns, name string) (*unstructured.Unstructured, error) {
	u := &unstructured.Unstructured{}
	u.SetGroupVersionKind(nadGVK)
	err := k8s.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: name}, u)
	return u, err
}

func nadConfig(u *unstructured.Unstructured) string {
	s, _, _ := unstructured.NestedString(u.Object, "spec", "config")
	return s
}

func TestVNIsAreUniqueAndStable(t *testing.T) {
	ns := needEnv(t)
	const n = 6
	for i := range n {
		var pool *v1alpha1.IPAM
		if i%2 == 0 {
			pool = &v1alpha1.IPAM{CIDR: fmt.Sprintf("10.30.%d.0/24", i)}
		}
		create(t, network(ns, fmt.Sprintf("net%d", i), pool))
	}
	for i := range n {
		net := waitCondition(t, ns, fmt.Sprintf("net%d", i), v1alpha1.ConditionReady, v1alpha1.ReasonReady)
		if net.Status.VNI < operator.MinVNI || net.Status.VNI > operator.MaxVNI {
			t.Errorf("network %s: VNI %d outside [%d, %d]", net.Name, net.Status.VNI, operator.MinVNI, operator.MaxVNI)
		}
	}
	// Across the whole cluster (other tests' networks too): no VNI twice.
	var all v1alpha1.NetworkList
	if err := k8s.List(context.Background(), &all); err != nil {
		t.Fatal(err)
	}
	holder := map[int32]string{}
	for _, net := range all.Items {
		if net.Status.VNI == 0 {
			continue
		}
		if other, ok := holder[net.Status.VNI]; ok {
			t.Errorf("VNI %d held by %s and %s/%s", net.Status.VNI, other, net.Namespace, net.Name)
		}
		holder[net.Status.VNI] = net.Namespace + "/" + net.Name
	}
}

func TestPublishesNAD(t *testing.T) {
	ns := needEnv(t)
	create(t, network(ns, "red", &v1alpha1.IPAM{CIDR: "10.20.0.0/24", Gateway: "10.20.0.1"}))
	net := waitCondition(t, ns, "red", v1alpha1.ConditionReady, v1alpha1.ReasonReady)
	if c := condition(net, v1alpha1.ConditionInUse); c.Status != metav1.ConditionFalse || c.Reason != v1alpha1.ReasonNoPods {
		t.Errorf("InUse = %+v, want False/NoPods", c)
	}
	nad, err := getNAD(ns, "red")
	if err != nil {
		t.Fatalf("get NAD: %v", err)
	}
	want := `{"cniVersion":"1.0.0","name":"red","type":"switchboard","network":"` + ns + `/red","capabilities":{"ips":true,"mac":true,"bandwidth":true}}`
	if got := nadConfig(nad); got != want {
		t.Errorf("NAD spec.config\n got: %s\nwant: %s", got, want)
	}
	if owner := metav1.GetControllerOf(nad); owner == nil || owner.UID != net.UID || owner.Kind != "Network" {
		t.Errorf("NAD controller = %+v, want Network %s", owner, net.UID)
	}
	// A NAD deleted by hand comes back.
	if err := k8s.Delete(context.Background(), nad); err != nil {
		t.Fatal(err)
	}
	eventually(t, "NAD recreated", func() error {
		again, err := getNAD(ns, "red")
		if err == nil && again.GetUID() == nad.GetUID() {
			return errors.New("still the old one")
		}
		return err
	})
}

func TestUnsupportedType(t *testing.T) {
	ns := needEnv(t)
	net := network(ns, "ext", nil)
	net.Spec.Type = v1alpha1.VLink
	create(t, net)
	net = waitCondition(t, ns, "ext", v1alpha1.ConditionReady, v1alpha1.ReasonUnsupportedType)
	want := `type "vlink" is not supported by this version: use type: vnet`
	if c := condition(net, v1alpha1.ConditionReady); c.Status != metav1.ConditionFalse || c.Message != want {
		t.Errorf("Ready = %+v, want False with message %q", c, want)
	}
	if msg := waitEvent(t, ns, "Network", "ext", v1alpha1.ReasonUnsupportedType); msg != want {
		t.Errorf("event message %q, want %q", msg, want)
	}
	if _, err := getNAD(ns, "ext"); !apierrors.IsNotFound(err) {
		t.Errorf("NAD of an unsupported network: got err %v, want NotFound", err)
	}
}

func TestCRDRejectsInvalidCIDR(t *testing.T) {
	ns := needEnv(t)
	err := k8s.Create(context.Background(), network(ns, "bad", &v1alpha1.IPAM{CIDR: "10.0.0.0/33"}))
	if !apierrors.IsInvalid(err) {
		t.Fatalf("create with cidr 10.0.0.0/33: got %v, want Invalid", err)
	}
	if !strings.Contains(err.Error(), "spec.ipam.cidr") || !strings.Contains(err.Error(), "cidr must be a CIDR") {
		t.Errorf("error %q does not name spec.ipam.cidr and the fix", err)
	}
}

func TestHostBitsAreInvalidSpec(t *testing.T) {
	ns := needEnv(t)
	create(t, network(ns, "hosty", &v1alpha1.IPAM{CIDR: "10.60.0.5/24"}))
	net := waitCondition(t, ns, "hosty", v1alpha1.ConditionReady, v1alpha1.ReasonInvalidSpec)
	if c := condition(net, v1alpha1.ConditionReady); c.Message != "ipam.cidr 10.60.0.5/24 has host bits set: use 10.60.0.0/24" {
		t.Errorf("Ready message %q", c.Message)
	}
}

func TestOverlapIsInvalidAndEditKeepsVNIAndNAD(t *testing.T) {
	ns := needEnv(t)
	create(t, network(ns, "clash", &v1alpha1.IPAM{CIDR: "10.244.5.0/24"}))
	net := waitCondition(t, ns, "clash", v1alpha1.ConditionReady, v1alpha1.ReasonInvalidSpec)
	want := "ipam.cidr 10.244.5.0/24 overlaps the cluster's pod CIDR (--cluster-cidr) " + clusterCIDR + ": choose a cidr outside it"
	if c := condition(net, v1alpha1.ConditionReady); c.Message != want {
		t.Errorf("Ready message\n got: %s\nwant: %s", c.Message, want)
	}
	waitEvent(t, ns, "Network", "clash", v1alpha1.ReasonInvalidSpec)
	if net.Status.VNI != 0 {
		t.Errorf("invalid network got VNI %d", net.Status.VNI)
	}
	if _, err := getNAD(ns, "clash"); !apierrors.IsNotFound(err) {
		t.Errorf("NAD of an invalid network: got err %v, want NotFound", err)
	}

	// A working network edited into an invalid one keeps what it had.
	create(t, network(ns, "good", &v1alpha1.IPAM{CIDR: "10.50.0.0/24"}))
	net = waitCondition(t, ns, "good", v1alpha1.ConditionReady, v1alpha1.ReasonReady)
	vni := net.Status.VNI
	nad, err := getNAD(ns, "good")
	if err != nil {
		t.Fatal(err)
	}
	net.Spec.IPAM.CIDR = "10.96.1.0/24"
	if err := k8s.Update(context.Background(), net); err != nil {
		t.Fatal(err)
	}
	net = waitCondition(t, ns, "good", v1alpha1.ConditionReady, v1alpha1.ReasonInvalidSpec)
	if !strings.Contains(condition(net, v1alpha1.ConditionReady).Message, "overlaps the cluster's service CIDR") {
		t.Errorf("Ready message %q", condition(net, v1alpha1.ConditionReady).Message)
	}
	if net.Status.VNI != vni {
		t.Errorf("VNI changed from %d to %d on an invalid edit", vni, net.Status.VNI)
	}
	after, err := getNAD(ns, "good")
	if err != nil {
		t.Fatalf("NAD after an invalid edit: %v", err)
	}
	if after.GetUID() != nad.GetUID() || nadConfig(after) != nadConfig(nad) {
		t.Errorf("NAD changed on an invalid edit: %s -> %s", nadConfig(nad), nadConfig(after))
	}
}

func TestForeignNADIsNotOverwritten(t *testing.T) {
	ns := needEnv(t)
	foreign := &unstructured.Unstructured{}
	foreign.SetGroupVersionKind(nadGVK)
	foreign.SetNamespace(ns)
	foreign.SetName("taken")
	const config = `{"cniVersion":"1.0.0","type":"macvlan","master":"eth0"}`
	if err := unstructured.SetNestedField(foreign.Object, config, "spec", "config"); err != nil {
		t.Fatal(err)
	}
	create(t, foreign)
	create(t, network(ns, "taken", nil))
	net := waitCondition(t, ns, "taken", v1alpha1.ConditionReady, v1alpha1.ReasonInvalidSpec)
	if msg := condition(net, v1alpha1.ConditionReady).Message; !strings.Contains(msg, "is not managed by this Network") {
		t.Errorf("Ready message %q", msg)
	}
	nad, err := getNAD(ns, "taken")
	if err != nil || nadConfig(nad) != config {
		t.Errorf("foreign NAD changed: %v %s", err, nadConfig(nad))
	}
}

func TestDeleteDeferredWhileAttached(t *testing.T) {
	ns := needEnv(t)
	ctx := context.Background()
	create(t, network(ns, "busy", &v1alpha1.IPAM{CIDR: "10.70.0.0/24"}))
	waitCondition(t, ns, "busy", v1alpha1.ConditionReady, v1alpha1.ReasonReady)
	pod := newPod(ns, "web")
	create(t, pod)
	att := attachment(ns, "busy", "10.70.0.5", pod)
	create(t, att)
	net := waitCondition(t, ns, "busy", v1alpha1.ConditionInUse, v1alpha1.ReasonAttached)
	if net.Status.Attachments != 1 {
		t.Errorf("status.attachments = %d, want 1", net.Status.Attachments)
	}

	if err := k8s.Delete(ctx, net); err != nil {
		t.Fatal(err)
	}
	net = waitCondition(t, ns, "busy", v1alpha1.ConditionInUse, v1alpha1.ReasonDeleteDeferred)
	c := condition(net, v1alpha1.ConditionInUse)
	if c.Status != metav1.ConditionTrue || !strings.Contains(c.Message, ns+"/web") || !strings.Contains(c.Message, "delete those pods first") {
		t.Errorf("InUse = %+v, want True naming %s/web and what to do", c, ns)
	}
	if msg := waitEvent(t, ns, "Network", "busy", v1alpha1.ReasonDeleteDeferred); msg != c.Message {
		t.Errorf("event %q, want the condition's message", msg)
	}
	if net.DeletionTimestamp.IsZero() {
		t.Error("network has no deletionTimestamp")
	}

	if err := k8s.Delete(ctx, att); err != nil {
		t.Fatal(err)
	}
	waitGone(t, net)
}

func newPod(ns, name string) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "switchboard.local/pause:dev"}}},
	}
}

// attachment is what an agent writes for pod's interface on network.
func attachment(ns, network, ip string, pod *corev1.Pod) *v1alpha1.Attachment {
	return &v1alpha1.Attachment{
		ObjectMeta: metav1.ObjectMeta{
			Namespace: ns,
			Name:      ipam.AttachmentName(network, netip.MustParseAddr(ip)),
			Labels:    map[string]string{v1alpha1.LabelNetwork: network, v1alpha1.LabelNode: "node-a"},
		},
		Spec: v1alpha1.AttachmentSpec{
			Network:     network,
			Pod:         v1alpha1.PodRef{Namespace: pod.Namespace, Name: pod.Name, UID: string(pod.UID)},
			Node:        "node-a",
			NodeIP:      "192.0.2.10",
			ContainerID: "c0ffee",
			Interface:   "net1",
			IPs:         []string{ip + "/24"},
		},
	}
}
