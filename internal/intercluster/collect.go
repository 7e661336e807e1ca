package intercluster

import (
	"context"
	"errors"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/util/workqueue"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"switchboard/api/v1alpha1"
	"switchboard/internal/podgc"
)

// AuthorizationCollector deletes the Authorization of a pod that no longer
// exists, or exists under another UID (it was recreated under the same
// name), so that no record outlives its pod; and a record that is not
// named by its pod's UID, which the operator never writes. Before it deletes the record
// of a pod that held an authorization, it releases the pod's
// authorizations at the providers, so that the edges may disconnect.
//
// A pod's deletion triggers it at once (the record is named by the pod's
// UID); every record is looked at when the operator starts (the cache's
// first list) and again every Interval, so a deletion missed while the
// operator was down is caught too.
type AuthorizationCollector struct {
	// Client reads Authorizations and pod metadata from the cache, and
	// deletes.
	Client client.Client
	// APIReader confirms, past the cache, that a pod is really gone.
	APIReader client.Reader
	// Watcher releases a gone pod's authorizations; nil releases nothing
	// (the Watcher's own sweep does, at its next answer).
	Watcher *Watcher
	// Interval between re-checks of a record whose pod exists; 0 means
	// 60s.
	Interval time.Duration
}

// Reconcile checks the pod of one Authorization and deletes the record if
// the pod is gone.
func (c *AuthorizationCollector) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	var az v1alpha1.Authorization
	if err := c.Client.Get(ctx, req.NamespacedName, &az); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	if !az.DeletionTimestamp.IsZero() {
		return ctrl.Result{}, nil
	}
	ref := az.Spec.Pod
	why := "the record is not named by its pod's UID, so the operator did not write it"
	if az.Name == ref.UID {
		var err error
		if why, err = podgc.Gone(ctx, c.Client, c.APIReader, ref); err != nil {
			return ctrl.Result{}, err
		}
		if why == "" {
			return ctrl.Result{RequeueAfter: c.interval()}, nil
		}
	}
	var released error
	if c.Watcher != nil && held(&az) {
		released = c.Watcher.ReleasePod(ctx, ref.Namespace, ref.Name)
	}
	deleted, err := podgc.Delete(ctx, c.Client, &az)
	if err != nil {
		return ctrl.Result{}, errors.Join(released, fmt.Errorf("delete authorization %s of pod %s/%s: %w", az.Name, ref.Namespace, ref.Name, err))
	}
	if deleted {
		logf.FromContext(ctx).Info("collected the authorization record of a pod that is gone",
			"pod", ref.Namespace+"/"+ref.Name, "authorization", az.Name, "reason", why)
	}
	return ctrl.Result{}, released
}

// held reports whether az allows its pod onto a network with a provider's
// authorization.
func held(az *v1alpha1.Authorization) bool {
	for _, d := range az.Spec.Networks {
		if d.Allowed && d.ID != "" {
			return true
		}
	}
	return false
}

func (c *AuthorizationCollector) interval() time.Duration {
	if c.Interval > 0 {
		return c.Interval
	}
	return time.Minute
}

// SetupWithManager watches Authorizations, and pod deletions, each of
// which names the record of the pod by its UID.
func (c *AuthorizationCollector) SetupWithManager(mgr ctrl.Manager) error {
	podDeleted := handler.Funcs{
		DeleteFunc: func(_ context.Context, e event.DeleteEvent, q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
			q.Add(reconcile.Request{NamespacedName: types.NamespacedName{Name: string(e.Object.GetUID())}})
		},
	}
	return ctrl.NewControllerManagedBy(mgr).
		Named("authorization-collector").
		For(&v1alpha1.Authorization{}).
		Watches(&corev1.Pod{}, podDeleted, builder.OnlyMetadata).
		Complete(c)
}
