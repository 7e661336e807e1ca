package operator

import (
	"context"
	"fmt"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	logf "sigs.k8s.io/controller-runtime/pkg/log"

	"switchboard/api/v1alpha1"
)

// registeredWith returns the provider that holds this cluster's
// registration of net, or nil if net was never registered: an ext-vnet
// Network gets status.interClusterVNI only from a registration.
func registeredWith(net *v1alpha1.Network) *v1alpha1.Provider {
	if net.Spec.Type != v1alpha1.ExtVNet || net.Spec.Provider == nil || net.Status.InterClusterVNI == 0 {
		return nil
	}
	return net.Spec.Provider
}

// deregister removes net's registration from the provider that holds it,
// before net goes. It returns nil when that is done or there is none;
// otherwise the Ready condition that says why not and how to delete net
// anyway, and when to try again (backing off up to maxDeregisterBackoff).
func (r *NetworkReconciler) deregister(ctx context.Context, net *v1alpha1.Network) (*metav1.Condition, time.Duration) {
	p := registeredWith(net)
	if r.Registrar == nil || p == nil {
		return nil, 0
	}
	key := client.ObjectKeyFromObject(net)
	err := r.Registrar.Deregister(ctx, *p, net)
	if err == nil {
		r.deregisterBackoff.reset(key)
		r.Recorder.Eventf(net, corev1.EventTypeNormal, v1alpha1.ReasonDeregistered,
			"deregistered network %s from provider %s; the deletion goes on", key, p.Name)
		return nil, 0
	}
	after := r.deregisterBackoff.next(key)
	logf.FromContext(ctx).Info("deregistration failed; deletion deferred", "network", key.String(), "provider", p.Name, "retryAfter", after, "err", err.Error())
	return &metav1.Condition{Type: v1alpha1.ConditionReady, Status: metav1.ConditionFalse, Reason: v1alpha1.ReasonDeregistrationFailed,
		Message: fmt.Sprintf("deletion deferred: %v; retrying with backoff (up to every %v). If the provider is gone for good, "+
			"delete the Network without deregistering it by removing its finalizer: "+
			`kubectl patch network %s -n %s --type=merge -p '{"metadata":{"finalizers":null}}'`+
			" (the provider then keeps this cluster's entry until a Network of that name registers here again)",
			err, maxDeregisterBackoff, net.Name, net.Namespace)}, after
}

// maxDeregisterBackoff is the longest wait between two deregistration
// attempts of a Network.
const maxDeregisterBackoff = 30 * time.Second

// backoff counts each Network's failures in a row, for retries after 1s,
// 2s, 4s, ... up to maxDeregisterBackoff. Its zero value is ready; it is
// safe for concurrent use.
type backoff struct {
	mu       sync.Mutex
	failures map[types.NamespacedName]int
}

// next records a failure for key and returns how long to wait.
func (b *backoff) next(key types.NamespacedName) time.Duration {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.failures == nil {
		b.failures = map[types.NamespacedName]int{}
	}
	n := b.failures[key]
	b.failures[key] = n + 1
	return min(time.Second<<min(n, 16), maxDeregisterBackoff)
}

// reset forgets key's failures.
func (b *backoff) reset(key types.NamespacedName) {
	b.mu.Lock()
	delete(b.failures, key)
	b.mu.Unlock()
}
