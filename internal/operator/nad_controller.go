package operator

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/record"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	logf "sigs.k8s.io/controller-runtime/pkg/log"

	"switchboard/api/v1alpha1"
)

// Reasons of the events on a NetworkAttachmentDefinition.
const (
	ReasonInvalidConfig   = "InvalidConfig"
	ReasonNetworkConflict = "NetworkConflict"
	ReasonNetworkRejected = "NetworkRejected"
	ReasonNetworkCreated  = "NetworkCreated"
)

// NADReconciler accepts a NetworkAttachmentDefinition written by a user in
// the seed format (CNI type l2sm or switchboard) as a network definition:
// it keeps a Network of the same name in step with the NAD's config, owned
// by the NAD so that deleting the NAD deletes the Network. NADs that a
// Network owns (the ones the operator publishes) are left alone.
type NADReconciler struct {
	Client   client.Client
	Recorder record.EventRecorder
}

// +kubebuilder:rbac:groups=k8s.cni.cncf.io,resources=network-attachment-definitions,verbs=get;list;watch;patch
// +kubebuilder:rbac:groups=switchboard.dev,resources=networks,verbs=get;list;watch;create;update

// Reconcile derives the Network of one NAD, or reports on the NAD why it
// cannot.
func (r *NADReconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	nad := newNAD()
	if err := r.Client.Get(ctx, req.NamespacedName, nad); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	config := nadConfig(nad)
	if nad.GetDeletionTimestamp() != nil || ownedByNetwork(nad) || config == "" {
		return ctrl.Result{}, nil
	}
	if clean, comments, ok := uncomment(config); ok {
		if _, ours, err := NetworkSpecFromConfig(clean); err == nil && ours {
			return ctrl.Result{}, r.removeComments(ctx, nad, config, clean, comments)
		}
	}
	spec, ours, err := NetworkSpecFromConfig(config)
	if err != nil {
		r.Recorder.Eventf(nad, corev1.EventTypeWarning, ReasonInvalidConfig, "%v: fix spec.config; no Network was made from it", err)
		return ctrl.Result{}, nil
	}
	if !ours {
		return ctrl.Result{}, nil
	}

	var net v1alpha1.Network
	err = r.Client.Get(ctx, req.NamespacedName, &net)
	switch {
	case apierrors.IsNotFound(err):
		return r.create(ctx, nad, spec)
	case err != nil:
		return ctrl.Result{}, fmt.Errorf("get network %q: %w", req, err)
	case !madeFrom(&net, nad.GetUID()):
		r.Recorder.Eventf(nad, corev1.EventTypeWarning, ReasonNetworkConflict,
			"Network %s already exists and was not made from this NetworkAttachmentDefinition: rename one of them", req)
		return ctrl.Result{}, nil
	case equality.Semantic.DeepEqual(net.Spec, spec):
		return ctrl.Result{}, nil
	}
	net.Spec = spec
	if err := r.Client.Update(ctx, &net); err != nil {
		if apierrors.IsInvalid(err) {
			r.Recorder.Eventf(nad, corev1.EventTypeWarning, ReasonNetworkRejected, "the Network made from spec.config was rejected: %v", err)
			return ctrl.Result{}, nil
		}
		return retry(fmt.Errorf("update network %q: %w", req, err))
	}
	return ctrl.Result{}, nil
}

func (r *NADReconciler) create(ctx context.Context, nad client.Object, spec v1alpha1.NetworkSpec) (ctrl.Result, error) {
	net := &v1alpha1.Network{
		ObjectMeta: metav1.ObjectMeta{
			Namespace: nad.GetNamespace(),
			Name:      nad.GetName(),
			OwnerReferences: []metav1.OwnerReference{{
				APIVersion: nadGVK.GroupVersion().String(),
				Kind:       nadGVK.Kind,
				Name:       nad.GetName(),
				UID:        nad.GetUID(),
				Controller: ptr.To(true),
			}},
		},
		Spec: spec,
	}
	key := client.ObjectKeyFromObject(net)
	if err := r.Client.Create(ctx, net); err != nil {
		if apierrors.IsInvalid(err) {
			r.Recorder.Eventf(nad, corev1.EventTypeWarning, ReasonNetworkRejected, "the Network made from spec.config was rejected: %v", err)
			return ctrl.Result{}, nil
		}
		return ctrl.Result{}, fmt.Errorf("create network %q: %w", key, err)
	}
	logf.FromContext(ctx).Info("made a network from a networkattachmentdefinition", "network", key.String(), "type", spec.Type)
	r.Recorder.Eventf(nad, corev1.EventTypeNormal, ReasonNetworkCreated, "made Network %s (type %s) from this NetworkAttachmentDefinition", key, spec.Type)
	return ctrl.Result{}, nil
}

// SetupWithManager registers the reconciler, watching NADs and the
// Networks they own.
func (r *NADReconciler) SetupWithManager(mgr ctrl.Manager) error {
	return ctrl.NewControllerManagedBy(mgr).
		Named("networkattachmentdefinition").
		For(newNAD()).
		Owns(&v1alpha1.Network{}).
		Complete(r)
}
