package topology

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"

	"switchboard/api/v1alpha1"
)

// Input is one cluster for Build to read.
type Input struct {
	// Context names the cluster (its kubeconfig context).
	Context string
	// Namespace is the network's namespace in this cluster.
	Namespace string
	// Source reads the cluster; nil when Err is set.
	Source Source
	// Err says why the cluster cannot be read at all (e.g. no client).
	Err error
}

// Build reads network name in every input's cluster at once and returns
// its topology, clusters in the inputs' order. A cluster that cannot be
// read has its Error set and the others are read regardless; parts that
// cannot be read are in the cluster's Problems.
func Build(ctx context.Context, name string, inputs []Input) Topology {
	t := Topology{Network: name, Clusters: make([]Cluster, len(inputs)), Tunnels: []Tunnel{}}
	var wg sync.WaitGroup
	for i, in := range inputs {
		wg.Go(func() { t.Clusters[i] = readCluster(ctx, in, name) })
	}
	wg.Wait()
	t.Tunnels = tunnels(t.Clusters)
	return t
}

func readCluster(ctx context.Context, in Input, name string) Cluster {
	c := Cluster{Context: in.Context, Namespace: in.Namespace, Nodes: []Node{}}
	if in.Err != nil {
		c.Error = in.Err.Error()
		return c
	}
	key := in.Namespace + "/" + name
	net, err := in.Source.Network(ctx, in.Namespace, name)
	if apierrors.IsNotFound(err) {
		c.Error = fmt.Sprintf("network %s does not exist in this cluster: create it with \"switchboard network create\"", key)
		return c
	}
	if err != nil {
		c.Error = fmt.Sprintf("read network %s: %v", key, err)
		return c
	}
	c.Type, c.VNI, c.InterClusterVNI = string(net.Spec.Type), net.Status.VNI, net.Status.InterClusterVNI
	if cond := meta.FindStatusCondition(net.Status.Conditions, v1alpha1.ConditionReady); cond != nil && net.Status.ObservedGeneration >= net.Generation {
		c.Ready, c.Reason = string(cond.Status), cond.Reason
	}
	nodes := map[string]*Node{}
	node := func(name, ip string) *Node {
		if n, ok := nodes[name]; ok {
			return n
		}
		n := &Node{Name: name, IP: ip, Pods: []Pod{}}
		nodes[name] = n
		return n
	}
	problem := func(format string, args ...any) { c.Problems = append(c.Problems, fmt.Sprintf(format, args...)) }

	all, err := in.Source.Nodes(ctx)
	if err != nil {
		problem("%v", err)
	}
	for _, n := range all {
		node(n.Name, internalIP(&n))
	}
	atts, err := in.Source.Attachments(ctx, in.Namespace, name)
	if err != nil {
		problem("%v", err)
	}
	// attached finds a pod's interfaces: node and index in its Pods.
	type at struct {
		n *Node
		i int
	}
	attached := map[string][]at{}
	for _, a := range atts {
		if a.Spec.Network != name {
			continue
		}
		n := node(a.Spec.Node, a.Spec.NodeIP)
		pod := a.Spec.Pod.Namespace + "/" + a.Spec.Pod.Name
		if a.Spec.IsEdge() {
			n.Gateway = gateway(ctx, in.Source, &a, pod)
			continue
		}
		n.Pods = append(n.Pods, Pod{Name: pod, Interface: a.Spec.Interface, IPs: a.Spec.IPs, MAC: a.Spec.MAC})
		attached[pod] = append(attached[pod], at{n, len(n.Pods) - 1})
	}
	auths, err := in.Source.Authorizations(ctx)
	if err != nil {
		problem("%v", err)
	}
	for _, a := range auths {
		d, ok := a.Spec.Decision(v1alpha1.AuthorizationKey(in.Namespace, name))
		if !ok {
			continue
		}
		pod := a.Spec.Pod.Namespace + "/" + a.Spec.Pod.Name
		if ifs := attached[pod]; len(ifs) > 0 {
			for _, a := range ifs {
				a.n.Pods[a.i].User = d.User
			}
			continue
		}
		if d.Allowed {
			continue // authorized, not attached (yet or any more): nothing to draw
		}
		p, err := in.Source.Pod(ctx, a.Spec.Pod.Namespace, a.Spec.Pod.Name)
		switch {
		case apierrors.IsNotFound(err):
			continue // a decision on a pod that is gone
		case err != nil:
			problem("read refused pod %s: %v", pod, err)
			continue
		}
		n := node(p.Spec.NodeName, "")
		n.Pods = append(n.Pods, Pod{Name: pod, User: d.User, Refused: cmp.Or(d.Reason, "refused")})
	}
	for _, n := range nodes {
		slices.SortFunc(n.Pods, func(a, b Pod) int { return cmp.Or(cmp.Compare(a.Name, b.Name), cmp.Compare(a.Interface, b.Interface)) })
		c.Nodes = append(c.Nodes, *n)
	}
	slices.SortFunc(c.Nodes, func(a, b Node) int { return cmp.Compare(a.Name, b.Name) })
	if net.Spec.Type == v1alpha1.ExtVNet && !slices.ContainsFunc(c.Nodes, func(n Node) bool { return n.Gateway != nil }) {
		problem("no gateway: no edge carries this network from this cluster yet (the provider connects it once a pod here is authorized)")
	}
	return c
}

// gateway reads the edge pod of edge Attachment a, whose pod is pod.
func gateway(ctx context.Context, src Source, a *v1alpha1.Attachment, pod string) *Gateway {
	g := &Gateway{Pod: pod, Cable: a.Spec.Interface, Encryption: WireGuard}
	if a.Annotations[v1alpha1.AnnotationWANEncryption] == v1alpha1.WANPlainVXLAN {
		g.Encryption = PlainVXLAN
	}
	p, err := src.Pod(ctx, a.Spec.Pod.Namespace, a.Spec.Pod.Name)
	switch {
	case err != nil:
		g.Detail = fmt.Sprintf("read edge pod %s: %v", pod, err)
	case string(p.UID) != a.Spec.Pod.UID && a.Spec.Pod.UID != "":
		g.Detail = fmt.Sprintf("edge pod %s was replaced; the new one has not taken the attachment over yet", pod)
	case !podReady(p):
		g.Detail = fmt.Sprintf("edge pod %s is not Ready", pod)
	default:
		g.Ready = true
	}
	return g
}

func podReady(p *corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

func internalIP(n *corev1.Node) string {
	for _, a := range n.Status.Addresses {
		if a.Type == corev1.NodeInternalIP {
			return a.Address
		}
	}
	return ""
}

// tunnels joins every gateway to the gateways of the clusters after its
// own, and says whether each tunnel is up.
func tunnels(clusters []Cluster) []Tunnel {
	out := []Tunnel{}
	for i, a := range clusters {
		for _, b := range clusters[i+1:] {
			for _, ga := range gateways(a) {
				for _, gb := range gateways(b) {
					out = append(out, tunnel(a, b, ga, gb))
				}
			}
		}
	}
	return out
}

func gateways(c Cluster) []Node {
	var out []Node
	for _, n := range c.Nodes {
		if n.Gateway != nil {
			out = append(out, n)
		}
	}
	return out
}

func tunnel(a, b Cluster, na, nb Node) Tunnel {
	t := Tunnel{A: Endpoint{a.Context, na.Name}, B: Endpoint{b.Context, nb.Name}, Encryption: PlainVXLAN}
	if na.Gateway.Encryption == WireGuard && nb.Gateway.Encryption == WireGuard {
		t.Encryption = WireGuard
	}
	var why []string
	switch {
	case a.InterClusterVNI == 0 || b.InterClusterVNI == 0:
		for _, c := range []Cluster{a, b} {
			if c.InterClusterVNI == 0 {
				why = append(why, fmt.Sprintf("%s has no inter-cluster VNI (not registered with the provider)", c.Context))
			}
		}
	case a.InterClusterVNI != b.InterClusterVNI:
		why = append(why, fmt.Sprintf("the inter-cluster VNIs differ (%s %d, %s %d)", a.Context, a.InterClusterVNI, b.Context, b.InterClusterVNI))
	default:
		t.ID = a.InterClusterVNI
	}
	for _, c := range []Cluster{a, b} {
		if c.Ready != "True" {
			why = append(why, fmt.Sprintf("the network is not Ready in %s (%s)", c.Context, cmp.Or(c.Reason, "no status yet")))
		}
	}
	for _, g := range []*Gateway{na.Gateway, nb.Gateway} {
		if g.Detail != "" {
			why = append(why, g.Detail)
		}
	}
	t.State, t.Detail = StateUp, strings.Join(why, "; ")
	if len(why) > 0 {
		t.State = StateDown
	}
	return t
}
