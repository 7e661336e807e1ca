package netctl

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"switchboard/api/v1alpha1"
)

// ClusterStatus is one cluster's view of a network.
type ClusterStatus struct {
	Context   string `json:"context"`
	Namespace string `json:"namespace"`
	// Error says why the Network could not be read (the cluster is
	// unreachable, the Network does not exist, ...); then nothing else is.
	Error   string       `json:"error,omitempty"`
	Network *NetworkView `json:"network,omitempty"`
	// Users are the users of the pods the operator decided on, each with
	// the pods it allowed and refused.
	Users []UserAccess `json:"users"`
	// Edges are the edge device's cables into the network (Edge
	// Attachments): the network's links to the other clusters.
	Edges []Edge `json:"edges"`
	// Pods are the pod interfaces on the network (pod Attachments).
	Pods []Pod `json:"pods"`
	// Problems are the parts that could not be read, e.g. "authorizations:
	// forbidden ..."; the rest is shown.
	Problems []string `json:"problems,omitempty"`
}

// UserAccess is the operator's decisions for the pods of one user.
type UserAccess struct {
	// User the pods' tokens were signed by; empty when unknown (no token,
	// or one that could not be read).
	User    string      `json:"user"`
	Allowed []PodAccess `json:"allowed"`
	Refused []PodAccess `json:"refused"`
}

// PodAccess is the decision on one pod.
type PodAccess struct {
	Pod     string       `json:"pod"` // namespace/name
	Reason  string       `json:"reason,omitempty"`
	Detail  string       `json:"detail,omitempty"`
	Expires *metav1.Time `json:"expires,omitempty"`
}

// Edge is an edge device's cable into the network.
type Edge struct {
	Node      string `json:"node"`
	Interface string `json:"interface"`
	Pod       string `json:"pod"` // the edge's own pod, namespace/name
}

// Pod is one pod interface on the network.
type Pod struct {
	Pod       string   `json:"pod"` // namespace/name
	Node      string   `json:"node"`
	Interface string   `json:"interface"`
	IPs       []string `json:"ips,omitempty"`
	MAC       string   `json:"mac,omitempty"`
}

// Status reads network name (in namespace, or each context's own when
// empty) in every cluster at once. A cluster that cannot be read has its
// Error set; the others are read regardless.
func Status(ctx context.Context, clusters []Cluster, namespace, name string) []ClusterStatus {
	out := make([]ClusterStatus, len(clusters))
	forEach(clusters, func(i int, c Cluster) {
		out[i] = clusterStatus(ctx, c, client.ObjectKey{Namespace: c.namespaceOr(namespace), Name: name})
	})
	return out
}

func clusterStatus(ctx context.Context, c Cluster, key client.ObjectKey) ClusterStatus {
	s := ClusterStatus{Context: c.Context, Namespace: key.Namespace, Users: []UserAccess{}, Edges: []Edge{}, Pods: []Pod{}}
	if c.Err != nil {
		s.Error = c.Err.Error()
		return s
	}
	var net v1alpha1.Network
	if err := c.Client.Get(ctx, key, &net); err != nil {
		s.Error = fmt.Sprintf("read network %s: %v", key, err)
		if apierrors.IsNotFound(err) {
			s.Error = fmt.Sprintf("network %s does not exist in this cluster: create it with \"switchboard network create\"", key)
		}
		return s
	}
	v := viewOf(&net)
	s.Network = &v

	var atts v1alpha1.AttachmentList
	if err := c.Client.List(ctx, &atts, client.InNamespace(key.Namespace), client.MatchingLabels{v1alpha1.LabelNetwork: key.Name}); err != nil {
		s.Problems = append(s.Problems, fmt.Sprintf("list attachments: %v", err))
	}
	for _, a := range atts.Items {
		if a.Spec.Network != key.Name {
			continue
		}
		pod := podName(a.Spec.Pod)
		if a.Spec.IsEdge() {
			s.Edges = append(s.Edges, Edge{Node: a.Spec.Node, Interface: a.Spec.Interface, Pod: pod})
		} else {
			s.Pods = append(s.Pods, Pod{Pod: pod, Node: a.Spec.Node, Interface: a.Spec.Interface, IPs: a.Spec.IPs, MAC: a.Spec.MAC})
		}
	}
	slices.SortFunc(s.Edges, func(a, b Edge) int { return cmp.Compare(a.Node, b.Node) })
	slices.SortFunc(s.Pods, func(a, b Pod) int { return cmp.Or(cmp.Compare(a.Pod, b.Pod), cmp.Compare(a.Interface, b.Interface)) })

	var auths v1alpha1.AuthorizationList
	if err := c.Client.List(ctx, &auths); err != nil {
		s.Problems = append(s.Problems, fmt.Sprintf("list authorizations: %v", err))
	}
	s.Users = usersOf(auths.Items, v1alpha1.AuthorizationKey(key.Namespace, key.Name))
	return s
}

// usersOf groups the decisions on network ("<namespace>/<name>") by user,
// users and pods sorted by name.
func usersOf(auths []v1alpha1.Authorization, network string) []UserAccess {
	byUser := map[string]*UserAccess{}
	for _, a := range auths {
		d, ok := a.Spec.Decision(network)
		if !ok {
			continue
		}
		u := byUser[d.User]
		if u == nil {
			u = &UserAccess{User: d.User, Allowed: []PodAccess{}, Refused: []PodAccess{}}
			byUser[d.User] = u
		}
		p := PodAccess{Pod: podName(a.Spec.Pod), Reason: d.Reason, Detail: d.Detail, Expires: d.Expires}
		if d.Allowed {
			u.Allowed = append(u.Allowed, p)
		} else {
			u.Refused = append(u.Refused, p)
		}
	}
	users := make([]UserAccess, 0, len(byUser))
	byPod := func(a, b PodAccess) int { return cmp.Compare(a.Pod, b.Pod) }
	for _, u := range byUser {
		slices.SortFunc(u.Allowed, byPod)
		slices.SortFunc(u.Refused, byPod)
		users = append(users, *u)
	}
	slices.SortFunc(users, func(a, b UserAccess) int { return cmp.Compare(a.User, b.User) })
	return users
}

func podName(p v1alpha1.PodRef) string { return p.Namespace + "/" + p.Name }

// StatusError returns an error naming the contexts whose network could not
// be read, or nil when every one was.
func StatusError(network string, statuses []ClusterStatus) error {
	var failed []string
	for _, s := range statuses {
		if s.Error != "" {
			failed = append(failed, s.Context)
		}
	}
	if len(failed) == 0 {
		return nil
	}
	return fmt.Errorf("network %s: could not be read in %d of %d contexts: %s", network, len(failed), len(statuses), strings.Join(failed, ", "))
}
