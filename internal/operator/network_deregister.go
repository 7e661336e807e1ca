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
// registration of net, or nil if none does: status.registeredProvider, or,
// for a Network registered by an operator that did not record it,
// spec.provider once status.interClusterVNI is set (only a registration
// sets it).
func registeredWith(net *v1alpha1.Network) *v1alpha1.Provider {
	if p := net.Status.RegisteredProvider; p != nil {
		return p
	}
	if net.Spec.Type != v1alpha1.ExtVNet || net.Spec.Provider == nil || net.Status.InterClusterVNI == 0 {
		return nil
	}
	return net.Spec.Provider
}

// wantedProvider returns the provider net should be registered with: its
// spec.provider while it is an ext-vnet network that is not being deleted.
func wantedProvider(net *v1alpha1.Network) *v1alpha1.Provider {
	if !net.DeletionTimestamp.IsZero() || net.Spec.Type != v1alpha1.ExtVNet {
		return nil
	}
	return net.Spec.Provider
}

// deregister removes net's registration from the provider that holds it
// when net no longer wants it there: net is being deleted, is no longer of
// type ext-vnet, or names another provider. It returns nil when that is
// done or there is nothing to do; otherwise the Ready condition that says
// why not and how to go on without it, and when to try again (backing off
// up to maxDeregisterBackoff).
func (r *NetworkReconciler) deregister(ctx context.Context, net *v1alpha1.Network) (*metav1.Condition, time.Duration) {
	old, want := registeredWith(net), wantedProvider(net)
	if r.Registrar == nil || old == nil || (want != nil && *want == *old) {
		return nil, 0
	}
	key := client.ObjectKeyFromObject(net)
	err := r.Registrar.Deregister(ctx, *old, net)
	if err == nil {
		r.deregisterBackoff.reset(key)
		r.Recorder.Eventf(net, corev1.EventTypeNormal, v1alpha1.ReasonDeregistered, "deregistered network %s from provider %s", key, old.Name)
		net.Status.RegisteredProvider, net.Status.InterClusterVNI = nil, 0
		return nil, 0
	}
	after := r.deregisterBackoff.next(key)
	logf.FromContext(ctx).Info("deregistration failed", "network", key.String(), "provider", old.Name, "retryAfter", after, "err", err.Error())
	var msg string
	if !net.DeletionTimestamp.IsZero() {
		msg = fmt.Sprintf("deletion deferred: %v; retrying with backoff (up to every %v). If the provider is gone for good, "+
			"delete the Network without deregistering it by removing its finalizer: "+
			`kubectl patch network %s -n %s --type=merge -p '{"metadata":{"finalizers":null}}'`+
			" (the provider then keeps this cluster's entry until a Network of that name registers here again)",
			err, maxDeregisterBackoff, net.Name, net.Namespace)
	} else {
		to := "type " + string(net.Spec.Type)
		if want != nil {
			to = "provider " + want.Name
		}
		msg = fmt.Sprintf("leaving provider %s for %s: %v; retrying with backoff (up to every %v). If provider %s is gone for good, "+
			"go on without deregistering by clearing the record of it: "+
			`kubectl patch network %s -n %s --subresource=status --type=merge -p '{"status":{"registeredProvider":null}}'`,
			old.Name, to, err, maxDeregisterBackoff, old.Name, net.Name, net.Namespace)
	}
	return &metav1.Condition{Type: v1alpha1.ConditionReady, Status: metav1.ConditionFalse,
		Reason: v1alpha1.ReasonDeregistrationFailed, Message: msg}, after
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
