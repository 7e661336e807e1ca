package operator

import (
	"context"
	"fmt"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
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
	"switchboard/internal/podgc"
)

// ReasonAttachmentReleased is the reason of the event on a Network when
// the garbage collector deletes one of its Attachments.
const ReasonAttachmentReleased = "AttachmentReleased"

// podIndex indexes Attachments by their pod's "namespace/name".
const podIndex = "spec.pod"

// AttachmentReconciler is the garbage collector of Attachments: it deletes
// one whose pod no longer exists, or exists with another UID (the pod was
// recreated under the same name), which frees its address. Agents delete
// Attachments on CNI DEL; this catches what they missed (a node that died,
// an agent killed mid-way).
type AttachmentReconciler struct {
	Client client.Client
	// APIReader confirms, past the cache, that a pod is really gone.
	APIReader client.Reader
	Recorder  record.EventRecorder
	// Interval between re-checks of an Attachment whose pod exists; 0
	// means 60s. Pod deletions trigger a check at once; this is the
	// backstop.
	Interval time.Duration
	// EdgeGrace is how long an edge Attachment (role Edge) outlives its
	// pod; 0 means 2 minutes. The edge's next pod on that node (a restart,
	// an upgrade, a crash) takes the Attachment over in place within it,
	// so the agent keeps the edge's cable and traffic across the clusters
	// carries on; an edge that does not come back loses it after the grace.
	EdgeGrace time.Duration

	mu        sync.Mutex
	goneSince map[types.UID]time.Time // edge Attachments whose pod is gone, and since when
}

// +kubebuilder:rbac:groups=switchboard.dev,resources=attachments,verbs=get;list;watch;delete
// +kubebuilder:rbac:groups="",resources=pods,verbs=get;list;watch

// Reconcile checks one Attachment's pod and deletes the Attachment if the
// pod is gone.
func (r *AttachmentReconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	var att v1alpha1.Attachment
	if err := r.Client.Get(ctx, req.NamespacedName, &att); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	if !att.DeletionTimestamp.IsZero() {
		return ctrl.Result{}, nil
	}
	why, err := podgc.Gone(ctx, r.Client, r.APIReader, att.Spec.Pod)
	if err != nil {
		return ctrl.Result{}, err
	}
	if why == "" {
		r.forget(att.UID)
		return ctrl.Result{RequeueAfter: r.interval()}, nil
	}
	if left := r.edgeGraceLeft(&att); left > 0 {
		logf.FromContext(ctx).Info("edge attachment's pod is gone; waiting for the next edge pod to take it over", "network", att.Spec.Network,
			"node", att.Spec.Node, "pod", att.Spec.Pod.Namespace+"/"+att.Spec.Pod.Name, "within", left.Round(time.Second))
		return ctrl.Result{RequeueAfter: left}, nil
	}
	r.forget(att.UID)
	deleted, err := podgc.Delete(ctx, r.Client, &att)
	if err != nil {
		return ctrl.Result{}, fmt.Errorf("delete attachment %q: %w", req, err)
	}
	if !deleted {
		return ctrl.Result{}, nil // gone already, or replaced by a new Attachment of that name
	}
	pod := att.Spec.Pod.Namespace + "/" + att.Spec.Pod.Name
	logf.FromContext(ctx).Info("released attachment", "network", att.Spec.Network, "pod", pod, "node", att.Spec.Node, "reason", why)
	var net v1alpha1.Network
	if err := r.Client.Get(ctx, types.NamespacedName{Namespace: att.Namespace, Name: att.Spec.Network}, &net); err == nil {
		r.Recorder.Eventf(&net, corev1.EventTypeNormal, ReasonAttachmentReleased,
			"deleted attachment %s (%v) of pod %s on node %s: %s", att.Name, att.Spec.IPs, pod, att.Spec.Node, why)
	}
	return ctrl.Result{}, nil
}

// edgeGraceLeft is how much longer the edge Attachment att, whose pod is
// gone, is kept; 0 for a pod's Attachment, or once the grace has run out.
// The start of the grace is this process's first sight of the pod gone: an
// operator that restarts starts it again, which only delays the deletion.
func (r *AttachmentReconciler) edgeGraceLeft(att *v1alpha1.Attachment) time.Duration {
	if !att.Spec.IsEdge() {
		return 0
	}
	grace := r.EdgeGrace
	if grace <= 0 {
		grace = 2 * time.Minute
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.goneSince == nil {
		r.goneSince = map[types.UID]time.Time{}
	}
	since, ok := r.goneSince[att.UID]
	if !ok {
		since = time.Now()
		r.goneSince[att.UID] = since
	}
	return max(grace-time.Since(since), 0)
}

func (r *AttachmentReconciler) forget(uid types.UID) {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.goneSince, uid)
}

func (r *AttachmentReconciler) interval() time.Duration {
	if r.Interval > 0 {
		return r.Interval
	}
	return time.Minute
}

// SetupWithManager registers the reconciler. It caches only the metadata
// of pods, and reacts to pod deletions through an index of Attachments by
// pod.
func (r *AttachmentReconciler) SetupWithManager(ctx context.Context, mgr ctrl.Manager) error {
	err := mgr.GetFieldIndexer().IndexField(ctx, &v1alpha1.Attachment{}, podIndex, func(o client.Object) []string {
		p := o.(*v1alpha1.Attachment).Spec.Pod
		return []string{p.Namespace + "/" + p.Name}
	})
	if err != nil {
		return fmt.Errorf("index attachments by pod: %w", err)
	}
	onlyDeletes := predicate.Funcs{
		CreateFunc:  func(event.CreateEvent) bool { return false },
		UpdateFunc:  func(event.UpdateEvent) bool { return false },
		DeleteFunc:  func(event.DeleteEvent) bool { return true },
		GenericFunc: func(event.GenericEvent) bool { return false },
	}
	return ctrl.NewControllerManagedBy(mgr).
		Named("attachment").
		For(&v1alpha1.Attachment{}).
		Watches(&corev1.Pod{}, handler.EnqueueRequestsFromMapFunc(r.podToAttachments),
			builder.OnlyMetadata, builder.WithPredicates(onlyDeletes)).
		Complete(r)
}

func (r *AttachmentReconciler) podToAttachments(ctx context.Context, pod client.Object) []reconcile.Request {
	var list v1alpha1.AttachmentList
	if err := r.Client.List(ctx, &list, client.MatchingFields{podIndex: pod.GetNamespace() + "/" + pod.GetName()}); err != nil {
		logf.FromContext(ctx).Error(err, "list attachments of deleted pod", "pod", pod.GetNamespace()+"/"+pod.GetName())
		return nil
	}
	reqs := make([]reconcile.Request, 0, len(list.Items))
	for _, a := range list.Items {
		reqs = append(reqs, reconcile.Request{NamespacedName: client.ObjectKeyFromObject(&a)})
	}
	return reqs
}
