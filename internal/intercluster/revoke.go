package intercluster

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	logf "sigs.k8s.io/controller-runtime/pkg/log"

	"switchboard/api/v1alpha1"
	"switchboard/internal/idco"
)

// ReasonRevoked is the reason of a decision whose authorization ended
// without the provider saying why (it ended while nobody watched).
const ReasonRevoked = "Revoked"

// apply converges the pods on one answer l of provider p: decisions whose
// authorization ended are refused, authorizations whose pod is gone are
// released. pending remembers, across calls, since when an active
// authorization has lacked a pod that carries it.
func (w *Watcher) apply(ctx context.Context, p v1alpha1.Provider, l idco.AuthorizationList, pending map[string]time.Time) error {
	active := map[string]idco.Authorization{}
	for _, a := range l.Active {
		active[a.ID] = a
	}
	revoked := map[string]idco.Authorization{}
	for _, a := range l.Revoked {
		revoked[a.ID] = a
	}
	h, err := w.holders(ctx)
	if err != nil {
		return err
	}
	var errs []error
	var stale []staleEntry
	for _, az := range h.auths {
		for _, d := range az.Spec.Networks {
			if !d.Allowed || d.ID == "" {
				continue
			}
			if _, ok := active[d.ID]; ok {
				continue
			}
			if a, ok := revoked[d.ID]; ok {
				errs = append(errs, w.revokeEntry(ctx, az.Spec.Pod, d.Network, a, explain(p.Name, a)))
			} else if w.providerOf(ctx, d.Network) == p {
				stale = append(stale, staleEntry{pod: az.Spec.Pod, key: d.Network, a: idco.Authorization{ID: d.ID, User: d.User}})
			}
		}
	}
	errs = append(errs, w.revokeStale(ctx, p, stale))
	errs = append(errs, w.releaseOrphans(ctx, p, l.Active, h, pending))
	return errors.Join(errs...)
}

// holders is what of this cluster may hold a provider's authorizations:
// its pods by "namespace/name" and the Authorization records by name (the
// pod's UID), both from the cache.
type holders struct {
	pods  map[string]*metav1.PartialObjectMetadata
	auths map[string]*v1alpha1.Authorization
}

func (w *Watcher) holders(ctx context.Context) (holders, error) {
	pods := &metav1.PartialObjectMetadataList{}
	pods.SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind("PodList"))
	if err := w.Client.List(ctx, pods); err != nil {
		return holders{}, fmt.Errorf("list pods: %w", err)
	}
	var azs v1alpha1.AuthorizationList
	if err := w.Client.List(ctx, &azs); err != nil {
		return holders{}, fmt.Errorf("list authorizations: %w", err)
	}
	h := holders{pods: map[string]*metav1.PartialObjectMetadata{}, auths: map[string]*v1alpha1.Authorization{}}
	for i := range pods.Items {
		h.pods[pods.Items[i].Namespace+"/"+pods.Items[i].Name] = &pods.Items[i]
	}
	for i := range azs.Items {
		h.auths[azs.Items[i].Name] = &azs.Items[i]
	}
	return h, nil
}

// carries reports whether pod's Authorization holds authorization a for it.
func (h holders) carries(pod *metav1.PartialObjectMetadata, a idco.Authorization) bool {
	az, ok := h.auths[string(pod.UID)]
	if !ok || az.Spec.Pod.UID != string(pod.UID) {
		return false
	}
	for _, d := range az.Spec.Networks {
		_, name, _ := strings.Cut(d.Network, "/")
		if name == a.Network && d.ID == a.ID {
			return true
		}
	}
	return false
}

// staleEntry is an allowed decision whose authorization is in neither
// list of an answer.
type staleEntry struct {
	pod v1alpha1.PodRef
	key string
	a   idco.Authorization
}

// revokeStale refuses the stale decisions whose authorization a fresh
// answer, asked after the records were read, does not hold either: the
// first answer may predate an authorization that a pod got since.
func (w *Watcher) revokeStale(ctx context.Context, p v1alpha1.Provider, stale []staleEntry) error {
	if len(stale) == 0 {
		return nil
	}
	c, err := w.Providers.Client(&p)
	if err != nil {
		return err
	}
	fresh, err := c.Authorizations(ctx, w.Providers.Cluster(), 0, 0)
	if err != nil {
		return fmt.Errorf("list authorizations of cluster %q: %w", w.Providers.Cluster(), err)
	}
	live := map[string]bool{}
	for _, a := range fresh.Active {
		live[a.ID] = true
	}
	var errs []error
	for _, s := range stale {
		if !live[s.a.ID] {
			errs = append(errs, w.revokeEntry(ctx, s.pod, s.key, s.a, explain(p.Name, s.a)))
		}
	}
	return errors.Join(errs...)
}

// providerOf returns the provider of the Network keyed "namespace/name",
// or the zero Provider if it is not a known ext-vnet Network.
func (w *Watcher) providerOf(ctx context.Context, key string) v1alpha1.Provider {
	ns, name, _ := strings.Cut(key, "/")
	var net v1alpha1.Network
	if err := w.Client.Get(ctx, types.NamespacedName{Namespace: ns, Name: name}, &net); err != nil || net.Spec.Provider == nil {
		return v1alpha1.Provider{}
	}
	return *net.Spec.Provider
}

// revokeEntry turns the allowed decision on network key, made with
// authorization a.ID, in the Authorization of pod ref into a refusal;
// records an event and the condition; and deletes the pod's Attachments on
// the network, so that the agent removes the interface. A decision that
// changed meanwhile, and the record of a pod that is gone (the
// AuthorizationCollector's), are left alone.
func (w *Watcher) revokeEntry(ctx context.Context, ref v1alpha1.PodRef, key string, a idco.Authorization, detail string) error {
	reason := a.RevokedReason
	if reason == "" {
		reason = ReasonRevoked
	}
	var pod corev1.Pod
	if err := w.APIReader.Get(ctx, types.NamespacedName{Namespace: ref.Namespace, Name: ref.Name}, &pod); err != nil || string(pod.UID) != ref.UID {
		return client.IgnoreNotFound(err)
	}
	az, err := updateAuthorization(ctx, w.Client, w.APIReader, &pod, func(s *v1alpha1.AuthorizationSpec) bool {
		for i := range s.Networks {
			if d := &s.Networks[i]; d.Network == key && d.Allowed && d.ID == a.ID {
				now := metav1.Now()
				d.Allowed, d.Reason, d.Detail, d.DecidedAt = false, reason, detail, &now
				return true
			}
		}
		return false
	})
	if err != nil || az == nil {
		return err
	}
	logf.FromContext(ctx).Info("network access revoked", "pod", ref.Namespace+"/"+ref.Name, "network", key, "authorization", a.ID, "reason", reason)
	w.Recorder.Eventf(&pod, corev1.EventTypeWarning, ReasonNetworkAccessRevoked, "network %s: %s: %s", key, reason, detail)
	nets, err := extNetworks(ctx, w.Client, &pod)
	if err != nil {
		return err
	}
	keys := []string{key}
	for _, n := range nets {
		if k := n.ref.String(); k != key {
			keys = append(keys, k)
		}
	}
	return errors.Join(syncCondition(ctx, w.Client, &pod, keys, byNetwork(az)), w.deleteAttachments(ctx, key, pod.UID))
}

// deleteAttachments deletes the Attachments of pod uid on the network
// keyed "namespace/name".
func (w *Watcher) deleteAttachments(ctx context.Context, key string, uid types.UID) error {
	ns, name, _ := strings.Cut(key, "/")
	var list v1alpha1.AttachmentList
	if err := w.APIReader.List(ctx, &list, client.InNamespace(ns), client.MatchingLabels{v1alpha1.LabelNetwork: name}); err != nil {
		return fmt.Errorf("list attachments of network %s: %w", key, err)
	}
	var errs []error
	for i := range list.Items {
		a := &list.Items[i]
		if a.Spec.Pod.UID != string(uid) || a.Spec.Network != name {
			continue
		}
		if err := w.Client.Delete(ctx, a); client.IgnoreNotFound(err) != nil {
			errs = append(errs, fmt.Errorf("delete attachment %s/%s: %w", a.Namespace, a.Name, err))
		}
	}
	return errors.Join(errs...)
}

// releaseOrphans releases the active authorizations whose pod is gone at
// once, and those whose pod exists without its Authorization carrying them
// after the grace period.
func (w *Watcher) releaseOrphans(ctx context.Context, p v1alpha1.Provider, active []idco.Authorization, h holders, pending map[string]time.Time) error {
	now := time.Now()
	seen := map[string]bool{}
	var errs []error
	for _, a := range active {
		seen[a.ID] = true
		pod := h.pods[a.Namespace+"/"+a.Pod]
		if pod != nil && h.carries(pod, a) {
			delete(pending, a.ID)
			continue
		}
		if pod == nil {
			gone, err := w.podGone(ctx, a.Namespace, a.Pod)
			if err != nil {
				errs = append(errs, err)
				continue
			}
			if gone {
				errs = append(errs, w.release(ctx, p, a))
				delete(pending, a.ID)
				continue
			}
		}
		first, ok := pending[a.ID]
		if !ok {
			pending[a.ID] = now
			continue
		}
		if now.Sub(first) >= w.grace() {
			errs = append(errs, w.release(ctx, p, a))
			delete(pending, a.ID)
		}
	}
	for id := range pending {
		if !seen[id] {
			delete(pending, id)
		}
	}
	return errors.Join(errs...)
}

func (w *Watcher) podGone(ctx context.Context, ns, name string) (bool, error) {
	err := w.APIReader.Get(ctx, types.NamespacedName{Namespace: ns, Name: name}, podMeta())
	if apierrors.IsNotFound(err) {
		return true, nil
	}
	if err != nil {
		return false, fmt.Errorf("get pod %s/%s: %w", ns, name, err)
	}
	return false, nil
}

func (w *Watcher) release(ctx context.Context, p v1alpha1.Provider, a idco.Authorization) error {
	c, err := w.Providers.Client(&p)
	if err != nil {
		return err
	}
	if err := c.Release(ctx, w.Providers.Cluster(), a.ID); err != nil && !errors.Is(err, idco.ErrNotFound) {
		return fmt.Errorf("release authorization %s of pod %s/%s at provider %q: %w", a.ID, a.Namespace, a.Pod, p.Name, err)
	}
	logf.FromContext(ctx).Info("authorization released", "pod", a.Namespace+"/"+a.Pod, "network", a.Network, "authorization", a.ID)
	return nil
}

// ReleasePod releases, at every provider in use, the authorizations of the
// pod namespace/name if it no longer exists. The AuthorizationCollector
// calls it when it collects the record of a pod that held an authorization,
// so that its network's edge link goes at once rather than at the next
// poll.
func (w *Watcher) ReleasePod(ctx context.Context, namespace, name string) error {
	gone, err := w.podGone(ctx, namespace, name)
	if err != nil || !gone {
		return err
	}
	var errs []error
	for _, p := range w.Providers.inUse() {
		c, err := w.Providers.Client(&p)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		l, err := c.Authorizations(ctx, w.Providers.Cluster(), 0, 0)
		if err != nil {
			errs = append(errs, fmt.Errorf("list authorizations at provider %q: %w", p.Name, err))
			continue
		}
		for _, a := range l.Active {
			if a.Namespace == namespace && a.Pod == name {
				errs = append(errs, w.release(ctx, p, a))
			}
		}
	}
	return errors.Join(errs...)
}
