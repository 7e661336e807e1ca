package topology

import (
	"context"
	"errors"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"

	"switchboard/api/v1alpha1"
)

// fakeCluster is a Source that holds one cluster's objects in memory; a
// nil network is "not found", a set err* field fails that read.
type fakeCluster struct {
	network  *v1alpha1.Network
	atts     []v1alpha1.Attachment
	auths    []v1alpha1.Authorization
	nodes    []corev1.Node
	pods     []corev1.Pod
	errAuths error
}

var _ Source = (*fakeCluster)(nil)

func (f *fakeCluster) Network(_ context.Context, namespace, name string) (*v1alpha1.Network, error) {
	if f.network == nil || f.network.Namespace != namespace || f.network.Name != name {
		return nil, apierrors.NewNotFound(schema.GroupResource{Group: "switchboard.dev", Resource: "networks"}, name)
	}
	return f.network.DeepCopy(), nil
}

func (f *fakeCluster) Attachments(_ context.Context, namespace, network string) ([]v1alpha1.Attachment, error) {
	var out []v1alpha1.Attachment
	for _, a := range f.atts {
		if a.Namespace == namespace && a.Labels[v1alpha1.LabelNetwork] == network {
			out = append(out, a)
		}
	}
	return out, nil
}

func (f *fakeCluster) Authorizations(context.Context) ([]v1alpha1.Authorization, error) {
	return f.auths, f.errAuths
}

func (f *fakeCluster) Nodes(context.Context) ([]corev1.Node, error) { return f.nodes, nil }

func (f *fakeCluster) Pod(_ context.Context, namespace, name string) (*corev1.Pod, error) {
	for _, p := range f.pods {
		if p.Namespace == namespace && p.Name == name {
			return p.DeepCopy(), nil
		}
	}
	return nil, apierrors.NewNotFound(schema.GroupResource{Resource: "pods"}, name)
}

// The objects the fixtures are made of.

func network(ns, name string, typ v1alpha1.NetworkType, ready metav1.ConditionStatus, reason string, vni, interVNI int32) *v1alpha1.Network {
	return &v1alpha1.Network{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Generation: 1},
		Spec:       v1alpha1.NetworkSpec{Type: typ},
		Status: v1alpha1.NetworkStatus{ObservedGeneration: 1, VNI: vni, InterClusterVNI: interVNI,
			Conditions: []metav1.Condition{{Type: v1alpha1.ConditionReady, Status: ready, Reason: reason, LastTransitionTime: metav1.Unix(0, 0)}}},
	}
}

func node(name, ip string) corev1.Node {
	return corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name},
		Status: corev1.NodeStatus{Addresses: []corev1.NodeAddress{{Type: corev1.NodeInternalIP, Address: ip}}}}
}

func pod(ns, name, nodeName string, ready bool) corev1.Pod {
	status := corev1.ConditionFalse
	if ready {
		status = corev1.ConditionTrue
	}
	return corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, UID: types.UID(name + "-uid")},
		Spec:   corev1.PodSpec{NodeName: nodeName},
		Status: corev1.PodStatus{Conditions: []corev1.PodCondition{{Type: corev1.PodReady, Status: status}}}}
}

func podAttachment(ns, network, podName, nodeName, iface, mac string, ips ...string) v1alpha1.Attachment {
	return v1alpha1.Attachment{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: network + "-" + podName, Labels: map[string]string{v1alpha1.LabelNetwork: network}},
		Spec: v1alpha1.AttachmentSpec{Network: network, Pod: v1alpha1.PodRef{Namespace: ns, Name: podName, UID: podName + "-uid"},
			Node: nodeName, Interface: iface, MAC: mac, IPs: ips},
	}
}

func edgeAttachment(ns, network, nodeName, edgePod, cable, wan string) v1alpha1.Attachment {
	return v1alpha1.Attachment{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: v1alpha1.EdgeAttachmentName(network, nodeName),
			Labels:      map[string]string{v1alpha1.LabelNetwork: network},
			Annotations: map[string]string{v1alpha1.AnnotationWANEncryption: wan}},
		Spec: v1alpha1.AttachmentSpec{Network: network, Role: v1alpha1.RoleEdge, Node: nodeName, Interface: cable,
			Pod: v1alpha1.PodRef{Namespace: "switchboard-system", Name: edgePod, UID: edgePod + "-uid"}},
	}
}

func decision(ns, podName, network, user string, allowed bool, reason string) v1alpha1.Authorization {
	return v1alpha1.Authorization{
		ObjectMeta: metav1.ObjectMeta{Name: ns + "-" + podName},
		Spec: v1alpha1.AuthorizationSpec{Pod: v1alpha1.PodRef{Namespace: ns, Name: podName},
			Networks: []v1alpha1.NetworkDecision{{Network: v1alpha1.AuthorizationKey(ns, network), Allowed: allowed, User: user, Reason: reason}}},
	}
}

// demoInputs are two clusters joined by an ext-vnet network, as the lab's
// demo leaves them before the revocation, and a third that cannot be read.
func demoInputs() []Input {
	const ns, net = "demo-inter", "sample-inter-network"
	a := &fakeCluster{
		network: network(ns, net, v1alpha1.ExtVNet, metav1.ConditionTrue, v1alpha1.ReasonRegistered, 4097, 70001),
		nodes:   []corev1.Node{node("a-node2", "10.64.0.3"), node("a-node1", "10.64.0.2")},
		atts: []v1alpha1.Attachment{
			podAttachment(ns, net, "alice-a", "a-node2", "net1", "02:aa:00:00:00:0a", "10.200.0.10/24"),
			edgeAttachment(ns, net, "a-node1", "switchboard-edge-a1", "sbn4097", v1alpha1.WANWireGuard),
			podAttachment(ns, "other-net", "bob", "a-node2", "net1", "02:aa:00:00:00:0b", "10.9.0.2/24"),
		},
		auths: []v1alpha1.Authorization{
			decision(ns, "alice-a", net, "alice", true, "Authorized"),
			decision(ns, "mallory", net, "alice", false, "BadSignature"),
			decision(ns, "gone", net, "alice", false, "BadSignature"),
		},
		pods: []corev1.Pod{pod("switchboard-system", "switchboard-edge-a1", "a-node1", true), pod(ns, "mallory", "a-node2", false)},
	}
	b := &fakeCluster{
		network: network(ns, net, v1alpha1.ExtVNet, metav1.ConditionTrue, v1alpha1.ReasonRegistered, 4099, 70001),
		nodes:   []corev1.Node{node("b-node1", "10.65.0.2"), node("b-node2", "10.65.0.3")},
		atts: []v1alpha1.Attachment{
			edgeAttachment(ns, net, "b-node1", "switchboard-edge-b1", "sbn4099", v1alpha1.WANWireGuard),
			podAttachment(ns, net, "alice-b", "b-node2", "net1", "02:bb:00:00:00:0a", "10.200.0.110/24"),
		},
		auths: []v1alpha1.Authorization{decision(ns, "alice-b", net, "alice", true, "Authorized")},
		pods:  []corev1.Pod{pod("switchboard-system", "switchboard-edge-b1", "b-node1", true)},
	}
	return []Input{
		{Context: "a", Namespace: ns, Source: a},
		{Context: "b", Namespace: ns, Source: b},
		{Context: "c", Namespace: ns, Err: errors.New(`context "c": no server in the kubeconfig`)},
	}
}
