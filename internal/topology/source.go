package topology

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"switchboard/api/v1alpha1"
)

// Source reads what Build needs of one cluster. Errors are returned as the
// API gives them: Build tells "not found" apart with apierrors.IsNotFound.
type Source interface {
	// Network returns the Network namespace/name.
	Network(ctx context.Context, namespace, name string) (*v1alpha1.Network, error)
	// Attachments returns the Attachments of network in namespace, pods'
	// and edges'.
	Attachments(ctx context.Context, namespace, network string) ([]v1alpha1.Attachment, error)
	// Authorizations returns the operator's decisions on pods (every
	// network's; Build picks its own).
	Authorizations(ctx context.Context) ([]v1alpha1.Authorization, error)
	// Nodes returns the cluster's nodes.
	Nodes(ctx context.Context) ([]corev1.Node, error)
	// Pod returns the pod namespace/name (edge pods' readiness, refused
	// pods' nodes).
	Pod(ctx context.Context, namespace, name string) (*corev1.Pod, error)
}

// KubeSource is a Source over a controller-runtime client whose scheme has
// client-go's and Switchboard's types. It is safe for concurrent use if
// the client is.
type KubeSource struct{ Client client.Client }

// Network implements Source.
func (s KubeSource) Network(ctx context.Context, namespace, name string) (*v1alpha1.Network, error) {
	var n v1alpha1.Network
	if err := s.Client.Get(ctx, client.ObjectKey{Namespace: namespace, Name: name}, &n); err != nil {
		return nil, err
	}
	return &n, nil
}

// Attachments implements Source.
func (s KubeSource) Attachments(ctx context.Context, namespace, network string) ([]v1alpha1.Attachment, error) {
	var l v1alpha1.AttachmentList
	if err := s.Client.List(ctx, &l, client.InNamespace(namespace), client.MatchingLabels{v1alpha1.LabelNetwork: network}); err != nil {
		return nil, fmt.Errorf("list attachments: %w", err)
	}
	return l.Items, nil
}

// Authorizations implements Source.
func (s KubeSource) Authorizations(ctx context.Context) ([]v1alpha1.Authorization, error) {
	var l v1alpha1.AuthorizationList
	if err := s.Client.List(ctx, &l); err != nil {
		return nil, fmt.Errorf("list authorizations: %w", err)
	}
	return l.Items, nil
}

// Nodes implements Source.
func (s KubeSource) Nodes(ctx context.Context) ([]corev1.Node, error) {
	var l corev1.NodeList
	if err := s.Client.List(ctx, &l); err != nil {
		return nil, fmt.Errorf("list nodes: %w", err)
	}
	return l.Items, nil
}

// Pod implements Source.
func (s KubeSource) Pod(ctx context.Context, namespace, name string) (*corev1.Pod, error) {
	var p corev1.Pod
	if err := s.Client.Get(ctx, client.ObjectKey{Namespace: namespace, Name: name}, &p); err != nil {
		return nil, err
	}
	return &p, nil
}
