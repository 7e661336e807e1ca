package intercluster

import (
	"context"
	"errors"
	"fmt"
	"slices"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/record"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"switchboard/api/v1alpha1"
	"switchboard/internal/podnet"
)

// Reasons of the events on pods.
const (
	ReasonNetworkAuthorized    = "NetworkAuthorized"
	ReasonAuthorizationRefused = "NetworkAuthorizationRefused"
	ReasonProviderUnreachable  = "ProviderUnreachable"
	ReasonNetworkAccessRevoked = "NetworkAccessRevoked"
)

// PodReconciler decides, once per pod and ext-vnet network it asks for,
// whether the pod may join: it finds the pod's token, checks it against
// this cluster's access list and asks the network's provider. It records
// the decision in the pod's Authorization (a cluster-scoped object named by
// the pod's UID, which only the operator writes), an event and the pod's
// NetworksAuthorized condition. Decisions are not remade, except NoToken
// (the pod may name its Secret later). A pod's annotations never stand for
// a decision.
type PodReconciler struct {
	// Client reads pod metadata and Networks from the cache and writes.
	Client client.Client
	// APIReader reads pods, Secrets and Authorizations from the API
	// server: Secrets are not cached, and a decision must see the latest
	// record, written moments before.
	APIReader client.Reader
	Recorder  record.EventRecorder
	Providers *Registrar
	// Watcher, if set, learns of the providers in use.
	Watcher *Watcher
}

// +kubebuilder:rbac:groups="",resources=pods,verbs=get;list;watch
// +kubebuilder:rbac:groups="",resources=pods/status,verbs=get;patch
// +kubebuilder:rbac:groups="",resources=secrets,verbs=get
// +kubebuilder:rbac:groups="",resources=events,verbs=create;patch
// +kubebuilder:rbac:groups=switchboard.dev,resources=networks,verbs=get;list;watch
// +kubebuilder:rbac:groups=switchboard.dev,resources=attachments,verbs=get;list;watch;delete
// +kubebuilder:rbac:groups=switchboard.dev,resources=authorizations,verbs=get;list;watch;create;update;patch;delete

// Reconcile decides what is undecided for one pod and converges its
// condition. A pod that is gone is the AuthorizationCollector's.
func (r *PodReconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	meta := podMeta()
	if err := r.Client.Get(ctx, req.NamespacedName, meta); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	nets, err := extNetworks(ctx, r.Client, meta)
	if err != nil || len(nets) == 0 {
		return ctrl.Result{}, err
	}
	var pod corev1.Pod
	if err := r.APIReader.Get(ctx, req.NamespacedName, &pod); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	if !pod.DeletionTimestamp.IsZero() || pod.Status.Phase == corev1.PodSucceeded || pod.Status.Phase == corev1.PodFailed {
		return ctrl.Result{}, nil
	}
	decisions, err := decisionsOf(ctx, r.APIReader, &pod)
	if err != nil {
		return ctrl.Result{}, err
	}
	var (
		changed     []v1alpha1.NetworkDecision
		unreachable error
	)
	for _, n := range nets {
		key := n.ref.String()
		old, ok := decisions[key]
		if ok && old.Reason != ReasonNoToken {
			continue
		}
		if !registered(n.net) {
			// The provider may still hold another network's entry of this
			// name (one deleted and made again, or in another namespace):
			// decide once it has this one. Its status update brings the
			// pod back.
			continue
		}
		d, err := r.decide(ctx, &pod, n.ref, n.net)
		if err != nil {
			r.Recorder.Eventf(&pod, corev1.EventTypeWarning, ReasonProviderUnreachable,
				"network %s: no decision: %v; retrying", key, err)
			unreachable = errors.Join(unreachable, err)
			continue
		}
		if ok && old.Reason == d.Reason && old.Detail == d.Detail {
			continue // NoToken still
		}
		now := metav1.Now()
		d.DecidedAt = &now
		decisions[key] = d
		changed = append(changed, d)
		if d.Allowed && r.Watcher != nil {
			r.Watcher.Use(*n.net.Spec.Provider)
		}
	}
	if len(changed) > 0 {
		_, err := updateAuthorization(ctx, r.Client, r.APIReader, &pod, func(s *v1alpha1.AuthorizationSpec) bool {
			for _, d := range changed {
				setDecision(s, d)
			}
			return true
		})
		if err != nil {
			return ctrl.Result{}, err
		}
		for _, d := range changed {
			r.event(&pod, d)
		}
	}
	keys := make([]string, 0, len(nets))
	for _, n := range nets {
		keys = append(keys, n.ref.String())
	}
	if err := syncCondition(ctx, r.Client, &pod, keys, decisions); err != nil {
		return ctrl.Result{}, err
	}
	return ctrl.Result{}, unreachable
}

func (r *PodReconciler) event(pod *corev1.Pod, d v1alpha1.NetworkDecision) {
	if d.Allowed {
		r.Recorder.Eventf(pod, corev1.EventTypeNormal, ReasonNetworkAuthorized,
			"network %s: user %q authorized (authorization %s)", d.Network, d.User, d.ID)
		return
	}
	r.Recorder.Eventf(pod, corev1.EventTypeWarning, ReasonAuthorizationRefused, "network %s: %s: %s", d.Network, d.Reason, d.Detail)
}

// extNetwork is an ext-vnet Network a pod asks for.
type extNetwork struct {
	ref podnet.Ref
	net *v1alpha1.Network
}

// extNetworks returns the ext-vnet Networks the pod's annotation names.
// Networks that do not exist (yet) are left out: the Network watch brings
// the pod back when they appear.
func extNetworks(ctx context.Context, reader client.Reader, pod client.Object) ([]extNetwork, error) {
	refs, err := podnet.Networks(pod.GetAnnotations()[podnet.Annotation], pod.GetNamespace())
	if err != nil {
		return nil, nil // the agent reports a malformed annotation
	}
	var out []extNetwork
	for _, ref := range refs {
		var net v1alpha1.Network
		err := reader.Get(ctx, types.NamespacedName{Namespace: ref.Namespace, Name: ref.Name}, &net)
		if apierrors.IsNotFound(err) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("get network %s: %w", ref, err)
		}
		if net.Spec.Type == v1alpha1.ExtVNet && net.Spec.Provider != nil {
			out = append(out, extNetwork{ref: ref, net: &net})
		}
	}
	return out, nil
}

// registered reports whether the operator has registered the current
// generation of net with its provider.
func registered(net *v1alpha1.Network) bool {
	c := meta.FindStatusCondition(net.Status.Conditions, v1alpha1.ConditionReady)
	return c != nil && c.Status == metav1.ConditionTrue && c.Reason == v1alpha1.ReasonRegistered &&
		net.Status.ObservedGeneration == net.Generation
}

// SetupWithManager watches the metadata of pods that carry the networks
// annotation (others never reach Reconcile); ext-vnet Networks, whose
// appearance brings back the pods that name them; and Authorizations, so
// that a record deleted under a live pod is made again.
func (r *PodReconciler) SetupWithManager(mgr ctrl.Manager) error {
	has := func(o client.Object) bool { _, ok := o.GetAnnotations()[podnet.Annotation]; return ok }
	hasNetworks := predicate.Funcs{
		CreateFunc:  func(e event.CreateEvent) bool { return has(e.Object) },
		UpdateFunc:  func(e event.UpdateEvent) bool { return has(e.ObjectNew) },
		DeleteFunc:  func(event.DeleteEvent) bool { return false },
		GenericFunc: func(e event.GenericEvent) bool { return has(e.Object) },
	}
	isExt := predicate.NewPredicateFuncs(func(o client.Object) bool {
		n, ok := o.(*v1alpha1.Network)
		return ok && n.Spec.Type == v1alpha1.ExtVNet
	})
	return ctrl.NewControllerManagedBy(mgr).
		Named("podauthorization").
		For(&corev1.Pod{}, builder.OnlyMetadata, builder.WithPredicates(hasNetworks)).
		Watches(&v1alpha1.Network{}, handler.EnqueueRequestsFromMapFunc(r.networkToPods), builder.WithPredicates(isExt)).
		Watches(&v1alpha1.Authorization{}, handler.EnqueueRequestsFromMapFunc(authorizationToPod)).
		Complete(r)
}

// authorizationToPod is the pod an Authorization is for.
func authorizationToPod(_ context.Context, o client.Object) []reconcile.Request {
	az, ok := o.(*v1alpha1.Authorization)
	if !ok {
		return nil
	}
	return []reconcile.Request{{NamespacedName: types.NamespacedName{Namespace: az.Spec.Pod.Namespace, Name: az.Spec.Pod.Name}}}
}

// networkToPods lists the pods (from the cache) whose annotation names net.
func (r *PodReconciler) networkToPods(ctx context.Context, net client.Object) []reconcile.Request {
	list := &metav1.PartialObjectMetadataList{}
	list.SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind("PodList"))
	if err := r.Client.List(ctx, list); err != nil {
		logf.FromContext(ctx).Error(err, "list pods for network", "network", client.ObjectKeyFromObject(net).String())
		return nil
	}
	want := podnet.Ref{Namespace: net.GetNamespace(), Name: net.GetName()}
	var reqs []reconcile.Request
	for _, p := range list.Items {
		v, ok := p.Annotations[podnet.Annotation]
		if !ok {
			continue
		}
		if refs, err := podnet.Networks(v, p.Namespace); err == nil && slices.Contains(refs, want) {
			reqs = append(reqs, reconcile.Request{NamespacedName: client.ObjectKeyFromObject(&p)})
		}
	}
	return reqs
}

func podMeta() *metav1.PartialObjectMetadata {
	p := &metav1.PartialObjectMetadata{}
	p.SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind("Pod"))
	return p
}
