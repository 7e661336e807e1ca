package operator

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/record"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"switchboard/api/v1alpha1"
)

// NetworkReconciler converges one Network: VNI, NetworkAttachmentDefinition,
// status and conditions, and the deletion finalizer. It must run with one
// worker (SetupWithManager does so): VNI assignment relies on it.
type NetworkReconciler struct {
	Client client.Client
	// APIReader reads past the cache, where a stale answer would be
	// wrong: choosing a free VNI, and confirming no Attachment is left
	// before a Network goes.
	APIReader client.Reader
	Recorder  record.EventRecorder
	Reserved  []ReservedPrefix
	// Registrar registers ext-vnet Networks with their provider, and
	// deregisters them before they go; nil refuses type ext-vnet.
	Registrar Registrar

	deregisterBackoff backoff
}

// Registrar records an ext-vnet Network, which has its VNI, with its
// provider (the IDCO) and returns the network's inter-cluster VNI, and
// removes the record before the Network goes. Both are idempotent. Package
// intercluster implements it.
//
// An error of Register with a method ConditionReason() string is one the
// Network's owner must fix, and gives the Ready condition its reason:
// v1alpha1.ReasonNameConflict (another Network of the same name holds this
// cluster's registration; this one holds nothing there),
// ReasonProviderNotAllowed or ReasonInvalidSpec.
type Registrar interface {
	Register(ctx context.Context, net *v1alpha1.Network) (uint32, error)
	// Deregister removes this cluster's registration of net from provider
	// p, ending this cluster's authorizations on it; nothing registered is
	// success.
	Deregister(ctx context.Context, p v1alpha1.Provider, net *v1alpha1.Network) error
}

// +kubebuilder:rbac:groups=switchboard.dev,resources=networks,verbs=get;list;watch;update;patch
// +kubebuilder:rbac:groups=switchboard.dev,resources=networks/status,verbs=get;update;patch
// +kubebuilder:rbac:groups=switchboard.dev,resources=networks/finalizers,verbs=update
// +kubebuilder:rbac:groups=switchboard.dev,resources=attachments,verbs=get;list;watch
// +kubebuilder:rbac:groups=k8s.cni.cncf.io,resources=network-attachment-definitions,verbs=get;list;watch;create;update;patch
// +kubebuilder:rbac:groups="",resources=events,verbs=create;patch

// Reconcile reads the Network, its Attachments and its NAD, and converges.
func (r *NetworkReconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	var net v1alpha1.Network
	if err := r.Client.Get(ctx, req.NamespacedName, &net); err != nil {
		if apierrors.IsNotFound(err) {
			r.deregisterBackoff.reset(req.NamespacedName) // its finalizer may have been removed by hand
		}
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	atts, err := listAttachments(ctx, r.Client, &net)
	if err != nil {
		return ctrl.Result{}, err
	}
	if !net.DeletionTimestamp.IsZero() {
		return r.finalize(ctx, &net, atts)
	}
	if controllerutil.AddFinalizer(&net, Finalizer) {
		if err := r.Client.Update(ctx, &net); err != nil {
			return retry(fmt.Errorf("add finalizer to network %q: %w", req, err))
		}
	}

	before := net.Status.DeepCopy()
	setInUse(&net, len(atts))
	r.setWANEncryption(&net, atts)
	ready, requeue, convergeErr := r.converge(ctx, &net)
	if ready != nil && meta.SetStatusCondition(&net.Status.Conditions, *ready) && ready.Status == metav1.ConditionFalse {
		r.Recorder.Event(&net, corev1.EventTypeWarning, ready.Reason, ready.Message)
	}
	net.Status.ObservedGeneration = net.Generation
	if !equality.Semantic.DeepEqual(before, &net.Status) {
		if err := r.Client.Status().Update(ctx, &net); err != nil {
			return retry(fmt.Errorf("update status of network %q: %w", req, err))
		}
	}
	return ctrl.Result{RequeueAfter: requeue}, convergeErr
}

// finalize defers the deletion of net while Attachments remain, saying
// which pods hold it, and then while its provider cannot be reached to
// deregister it (inter-cluster mode), saying how to force it; it lets net
// go once both are done.
func (r *NetworkReconciler) finalize(ctx context.Context, net *v1alpha1.Network, atts []v1alpha1.Attachment) (ctrl.Result, error) {
	if !controllerutil.ContainsFinalizer(net, Finalizer) {
		return ctrl.Result{}, nil
	}
	if len(atts) == 0 {
		// The cache may lag an agent that has just attached a pod:
		// confirm with the API server before letting the Network go.
		live, err := listAttachments(ctx, r.APIReader, net)
		if err != nil {
			return ctrl.Result{}, err
		}
		atts = live
	}
	net.Status.Attachments = int32(len(atts))
	if len(atts) > 0 {
		// The Attachment watch brings us back when one goes.
		return r.deferDeletion(ctx, net, metav1.Condition{Type: v1alpha1.ConditionInUse, Status: metav1.ConditionTrue,
			Reason: v1alpha1.ReasonDeleteDeferred, Message: deferredMessage(atts)}, 0)
	}
	if c, after := r.deregister(ctx, net); c != nil {
		return r.deferDeletion(ctx, net, *c, after)
	}
	controllerutil.RemoveFinalizer(net, Finalizer)
	if err := r.Client.Update(ctx, net); err != nil && !apierrors.IsNotFound(err) {
		return retry(fmt.Errorf("remove finalizer from network %q: %w", client.ObjectKeyFromObject(net), err))
	}
	return ctrl.Result{}, nil
}

// deferDeletion records why net's deletion waits, in condition c and, when
// c changes, a Warning event, and comes back after after (0: when an
// Attachment goes).
func (r *NetworkReconciler) deferDeletion(ctx context.Context, net *v1alpha1.Network, c metav1.Condition, after time.Duration) (ctrl.Result, error) {
	net.Status.ObservedGeneration = net.Generation
	if meta.SetStatusCondition(&net.Status.Conditions, c) {
		r.Recorder.Event(net, corev1.EventTypeWarning, c.Reason, c.Message)
		if err := r.Client.Status().Update(ctx, net); err != nil {
			return retry(fmt.Errorf("update status of network %q: %w", client.ObjectKeyFromObject(net), err))
		}
	}
	return ctrl.Result{RequeueAfter: after}, nil
}

// deferredMessage names the pods still attached, at most maxNamed of them.
func deferredMessage(atts []v1alpha1.Attachment) string {
	const maxNamed = 10
	var pods []string
	for _, a := range atts {
		pods = append(pods, a.Spec.Pod.Namespace+"/"+a.Spec.Pod.Name)
	}
	slices.Sort(pods)
	pods = slices.Compact(pods)
	named := strings.Join(pods[:min(len(pods), maxNamed)], ", ")
	if len(pods) > maxNamed {
		named += fmt.Sprintf(" and %d more", len(pods)-maxNamed)
	}
	return fmt.Sprintf("deletion deferred: %d pod(s) still attached: %s; delete those pods first (or remove this network from their k8s.v1.cni.cncf.io/networks annotation and recreate them), then the deletion completes",
		len(pods), named)
}

func setInUse(net *v1alpha1.Network, n int) {
	net.Status.Attachments = int32(n)
	c := metav1.Condition{Type: v1alpha1.ConditionInUse, Status: metav1.ConditionFalse,
		Reason: v1alpha1.ReasonNoPods, Message: "no pod is attached"}
	if n > 0 {
		c.Status, c.Reason = metav1.ConditionTrue, v1alpha1.ReasonAttached
		c.Message = fmt.Sprintf("%d pod interface(s) attached", n)
	}
	meta.SetStatusCondition(&net.Status.Conditions, c)
}

// listAttachments lists net's Attachments through reader (the cache or the
// API server).
func listAttachments(ctx context.Context, reader client.Reader, net *v1alpha1.Network) ([]v1alpha1.Attachment, error) {
	var list v1alpha1.AttachmentList
	if err := reader.List(ctx, &list, client.InNamespace(net.Namespace),
		client.MatchingLabels{v1alpha1.LabelNetwork: net.Name}); err != nil {
		return nil, fmt.Errorf("list attachments of network %q: %w", net.Namespace+"/"+net.Name, err)
	}
	return list.Items, nil
}

// retry turns a conflict (our copy was stale) into a prompt requeue rather
// than a logged error; other errors are returned as they are.
func retry(err error) (ctrl.Result, error) {
	if apierrors.IsConflict(err) {
		return ctrl.Result{RequeueAfter: 100 * time.Millisecond}, nil
	}
	return ctrl.Result{}, err
}

// SetupWithManager registers the reconciler, watching Networks, their
// Attachments, and NetworkAttachmentDefinitions of the same name.
func (r *NetworkReconciler) SetupWithManager(mgr ctrl.Manager) error {
	return ctrl.NewControllerManagedBy(mgr).
		Named("network").
		For(&v1alpha1.Network{}).
		Watches(&v1alpha1.Attachment{}, handler.EnqueueRequestsFromMapFunc(attachmentToNetwork)).
		Watches(newNAD(), handler.EnqueueRequestsFromMapFunc(sameName)).
		Watches(&v1alpha1.Network{}, handler.EnqueueRequestsFromMapFunc(r.sameNameElsewhere)).
		WithOptions(controller.Options{MaxConcurrentReconciles: 1}).
		Complete(r)
}

func attachmentToNetwork(_ context.Context, o client.Object) []reconcile.Request {
	name := o.GetLabels()[v1alpha1.LabelNetwork]
	if a, ok := o.(*v1alpha1.Attachment); ok && name == "" {
		name = a.Spec.Network
	}
	if name == "" {
		return nil
	}
	return []reconcile.Request{{NamespacedName: types.NamespacedName{Namespace: o.GetNamespace(), Name: name}}}
}

// sameNameElsewhere returns the Networks of net's name in other
// namespaces (from the cache): one that lost the name to net at a provider
// tries again when net changes or goes.
func (r *NetworkReconciler) sameNameElsewhere(ctx context.Context, net client.Object) []reconcile.Request {
	var list v1alpha1.NetworkList
	if err := r.Client.List(ctx, &list); err != nil {
		logf.FromContext(ctx).Error(err, "list networks of the same name", "network", client.ObjectKeyFromObject(net).String())
		return nil
	}
	var reqs []reconcile.Request
	for _, n := range list.Items {
		if n.Name == net.GetName() && n.Namespace != net.GetNamespace() && n.Spec.Type == v1alpha1.ExtVNet {
			reqs = append(reqs, reconcile.Request{NamespacedName: client.ObjectKeyFromObject(&n)})
		}
	}
	return reqs
}

func sameName(_ context.Context, o client.Object) []reconcile.Request {
	return []reconcile.Request{{NamespacedName: client.ObjectKeyFromObject(o)}}
}
