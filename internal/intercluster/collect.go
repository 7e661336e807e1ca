package intercluster

import (
	"context"
	"errors"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
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
)

// AuthorizationCollector deletes the Authorization of a pod that no longer
// exists, or exists under another UID (it was recreated under the same
// name), so that no record outlives its pod. Before it deletes the record
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
	lives, err := c.podLives(ctx, ref)
	if err != nil {
		return ctrl.Result{}, err
	}
	if lives && az.Name == ref.UID {
		return ctrl.Result{RequeueAfter: c.interval()}, nil
	}
	var released error
	if c.Watcher != nil && held(&az) {
		released = c.Watcher.ReleasePod(ctx, ref.Namespace, ref.Name)
	}
	err = c.Client.Delete(ctx, &az, client.Preconditions{UID: &az.UID})
	if apierrors.IsNotFound(err) || apierrors.IsConflict(err) {
		return ctrl.Result{}, released // gone already, or a new record of that name
	}
	if err != nil {
		return ctrl.Result{}, errors.Join(released, fmt.Errorf("delete authorization %s of pod %s/%s: %w", az.Name, ref.Namespace, ref.Name, err))
	}
	logf.FromContext(ctx).Info("collected the authorization record of a pod that is gone",
		"pod", ref.Namespace+"/"+ref.Name, "uid", ref.UID, "authorization", az.Name)
	return ctrl.Result{}, released
}

// podLives reports whether the pod ref exists with ref's UID. A pod the
// cache does not show so is looked up in the API server: the cache may not
// have seen a pod created a moment ago.
func (c *AuthorizationCollector) podLives(ctx context.Context, ref v1alpha1.PodRef) (bool, error) {
	key := types.NamespacedName{Namespace: ref.Namespace, Name: ref.Name}
	for _, r := range []client.Reader{c.Client, c.APIReader} {
		pod := podMeta()
		err := r.Get(ctx, key, pod)
		if err == nil && string(pod.UID) == ref.UID {
			return true, nil
		}
		if client.IgnoreNotFound(err) != nil {
			return false, fmt.Errorf("get pod %s: %w", key, err)
		}
	}
	return false, nil
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
