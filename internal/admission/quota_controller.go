package admission

import (
	"context"
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	sbv1 "switchboard/api/v1alpha1"
)

// QuotaReconciler keeps each NetworkQuota's status.used: the namespace's
// usage, counted by Validator.NamespaceUsage (what the webhook enforces),
// and the Exceeded condition.
type QuotaReconciler struct {
	Client    client.Client
	Validator *Validator
}

// +kubebuilder:rbac:groups=switchboard.dev,resources=networkquotas,verbs=get;list;watch
// +kubebuilder:rbac:groups=switchboard.dev,resources=networkquotas/status,verbs=get;update;patch
// +kubebuilder:rbac:groups=switchboard.dev,resources=networks,verbs=get;list;watch
// +kubebuilder:rbac:groups=switchboard.dev,resources=attachments,verbs=get;list;watch
// +kubebuilder:rbac:groups="",resources=pods,verbs=get;list;watch

// Reconcile recounts one NetworkQuota's namespace.
func (r *QuotaReconciler) Reconcile(ctx context.Context, req reconcile.Request) (reconcile.Result, error) {
	var q sbv1.NetworkQuota
	if err := r.Client.Get(ctx, req.NamespacedName, &q); err != nil {
		return reconcile.Result{}, client.IgnoreNotFound(err)
	}
	used, err := r.Validator.NamespaceUsage(ctx, q.Namespace, "")
	if err != nil {
		return reconcile.Result{}, err
	}
	st := q.Status.DeepCopy()
	st.ObservedGeneration = q.Generation
	st.Used = used
	meta.SetStatusCondition(&st.Conditions, exceeded(&q, used))
	if equality.Semantic.DeepEqual(st, &q.Status) {
		return reconcile.Result{}, nil
	}
	q.Status = *st
	if err := r.Client.Status().Update(ctx, &q); err != nil && !apierrors.IsConflict(err) {
		return reconcile.Result{}, fmt.Errorf("update status of networkquota %s/%s: %w", q.Namespace, q.Name, err)
	} else if err != nil {
		return reconcile.Result{Requeue: true}, nil
	}
	return reconcile.Result{}, nil
}

// exceeded is the Exceeded condition of q at usage used.
func exceeded(q *sbv1.NetworkQuota, used Usage) metav1.Condition {
	var over []string
	for _, l := range limits(q) {
		if l.max != nil && l.used(used) > *l.max {
			over = append(over, fmt.Sprintf("%s %d > %s %d", l.what, l.used(used), l.field, *l.max))
		}
	}
	c := metav1.Condition{Type: sbv1.ConditionExceeded, Status: metav1.ConditionFalse, Reason: sbv1.ReasonWithinLimits,
		Message: "usage is within every limit", ObservedGeneration: q.Generation}
	if len(over) > 0 {
		c.Status, c.Reason = metav1.ConditionTrue, sbv1.ReasonOverLimit
		c.Message = "usage is above a limit (" + strings.Join(over, ", ") + "): nothing more is admitted until usage falls below it"
	}
	return c
}

// SetupWithManager watches NetworkQuotas, and the Networks and pods of
// their namespaces.
func (r *QuotaReconciler) SetupWithManager(mgr ctrl.Manager) error {
	byNamespace := handler.EnqueueRequestsFromMapFunc(func(ctx context.Context, o client.Object) []reconcile.Request {
		var list sbv1.NetworkQuotaList
		if err := r.Client.List(ctx, &list, client.InNamespace(o.GetNamespace())); err != nil {
			return nil
		}
		out := make([]reconcile.Request, 0, len(list.Items))
		for _, q := range list.Items {
			out = append(out, reconcile.Request{NamespacedName: client.ObjectKeyFromObject(&q)})
		}
		return out
	})
	return ctrl.NewControllerManagedBy(mgr).
		Named("networkquota").
		For(&sbv1.NetworkQuota{}).
		Watches(&sbv1.Network{}, byNamespace).
		Watches(&corev1.Pod{}, byNamespace).
		Complete(r)
}
