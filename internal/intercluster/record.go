package intercluster

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/util/retry"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"switchboard/api/v1alpha1"
)

// Reasons of the pod condition NetworksAuthorized.
const (
	ConditionReasonAuthorized = "Authorized"
	ConditionReasonPending    = "Pending"
)

// podRef is the reference to pod that its Authorization carries.
func podRef(pod *corev1.Pod) v1alpha1.PodRef {
	return v1alpha1.PodRef{Namespace: pod.Namespace, Name: pod.Name, UID: string(pod.UID)}
}

// isFor reports whether az is the record of the pod ref: named by its UID
// and naming it. A record for anything else is not the operator's.
func isFor(az *v1alpha1.Authorization, ref v1alpha1.PodRef) bool {
	return az.Name == ref.UID && az.Spec.Pod == ref
}

// decisionsOf reads pod's Authorization from reader and returns its
// decisions keyed by network; none if the pod has no record (or a record
// that is not for it).
func decisionsOf(ctx context.Context, reader client.Reader, pod *corev1.Pod) (map[string]v1alpha1.NetworkDecision, error) {
	var az v1alpha1.Authorization
	err := reader.Get(ctx, types.NamespacedName{Name: string(pod.UID)}, &az)
	if apierrors.IsNotFound(err) {
		return byNetwork(nil), nil
	}
	if err != nil {
		return nil, fmt.Errorf("get authorization %s of pod %s/%s: %w", pod.UID, pod.Namespace, pod.Name, err)
	}
	if !isFor(&az, podRef(pod)) {
		return byNetwork(nil), nil
	}
	return byNetwork(&az), nil
}

// byNetwork returns az's decisions keyed by network; none for nil.
func byNetwork(az *v1alpha1.Authorization) map[string]v1alpha1.NetworkDecision {
	out := map[string]v1alpha1.NetworkDecision{}
	if az != nil {
		for _, d := range az.Spec.Networks {
			out[d.Network] = d
		}
	}
	return out
}

// updateAuthorization applies change to pod's Authorization and writes it:
// it creates the record (named by the pod's UID, labelled with its
// namespace and name) if there is none, and updates it otherwise,
// re-reading it from reader and trying again on a conflict. change reports
// whether it changed anything; when it did not, nothing is written and the
// result is nil. change sees a record that is not for pod as empty.
func updateAuthorization(ctx context.Context, c client.Client, reader client.Reader, pod *corev1.Pod, change func(*v1alpha1.AuthorizationSpec) bool) (*v1alpha1.Authorization, error) {
	ref := podRef(pod)
	var out *v1alpha1.Authorization
	retriable := func(err error) bool { return apierrors.IsConflict(err) || apierrors.IsAlreadyExists(err) }
	err := retry.OnError(retry.DefaultRetry, retriable, func() error {
		out = nil
		az := &v1alpha1.Authorization{}
		err := reader.Get(ctx, types.NamespacedName{Name: ref.UID}, az)
		exists := err == nil
		if err != nil && !apierrors.IsNotFound(err) {
			return err
		}
		if !exists || !isFor(az, ref) {
			az.Name, az.Spec = ref.UID, v1alpha1.AuthorizationSpec{Pod: ref}
		}
		if !change(&az.Spec) {
			return nil
		}
		if az.Labels == nil {
			az.Labels = map[string]string{}
		}
		az.Labels[v1alpha1.LabelPodNamespace], az.Labels[v1alpha1.LabelPodName] = ref.Namespace, ref.Name
		if exists {
			err = c.Update(ctx, az)
		} else {
			err = c.Create(ctx, az)
		}
		if err == nil {
			out = az
		}
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("write authorization %s of pod %s/%s: %w", ref.UID, ref.Namespace, ref.Name, err)
	}
	return out, nil
}

// setDecision replaces the decision on d.Network in spec, or adds it.
func setDecision(spec *v1alpha1.AuthorizationSpec, d v1alpha1.NetworkDecision) {
	for i := range spec.Networks {
		if spec.Networks[i].Network == d.Network {
			spec.Networks[i] = d
			return
		}
	}
	spec.Networks = append(spec.Networks, d)
}

// wantCondition is the NetworksAuthorized condition of a pod that asks for
// the ext-vnet networks keys, given its decisions keyed by network.
func wantCondition(keys []string, decisions map[string]v1alpha1.NetworkDecision, now time.Time) corev1.PodCondition {
	c := corev1.PodCondition{Type: v1alpha1.ConditionNetworksAuthorized, Status: corev1.ConditionTrue, Reason: ConditionReasonAuthorized}
	var refused, pending []string
	for _, k := range keys {
		d, ok := decisions[k]
		switch {
		case !ok:
			pending = append(pending, k)
		case !d.Allowed:
			if len(refused) == 0 {
				c.Reason = d.Reason
			}
			refused = append(refused, fmt.Sprintf("%s: %s: %s", k, d.Reason, d.Detail))
		case d.Expires != nil && !d.Expires.After(now):
			if len(refused) == 0 {
				c.Reason = "Expired"
			}
			refused = append(refused, fmt.Sprintf("%s: Expired: the authorization ended at %s; sign a new token and recreate the pod", k, d.Expires.UTC().Format(time.RFC3339)))
		}
	}
	switch {
	case len(refused) > 0:
		c.Status, c.Message = corev1.ConditionFalse, strings.Join(refused, "; ")
	case len(pending) > 0:
		c.Status, c.Reason = corev1.ConditionFalse, ConditionReasonPending
		c.Message = "waiting for the provider's decision on " + strings.Join(pending, ", ")
	default:
		c.Message = "authorized on " + strings.Join(keys, ", ")
	}
	return c
}

// syncCondition sets pod's NetworksAuthorized condition through the status
// subresource if it differs from what the decisions say. pod is updated in
// place.
func syncCondition(ctx context.Context, c client.Client, pod *corev1.Pod, keys []string, decisions map[string]v1alpha1.NetworkDecision) error {
	want := wantCondition(keys, decisions, time.Now())
	want.LastTransitionTime = metav1.Now()
	for _, have := range pod.Status.Conditions {
		if have.Type != want.Type {
			continue
		}
		if have.Status == want.Status && have.Reason == want.Reason && have.Message == want.Message {
			return nil
		}
		if have.Status == want.Status {
			want.LastTransitionTime = have.LastTransitionTime
		}
	}
	// Pod conditions merge by type in a strategic merge patch: this
	// touches ours only.
	patch, err := json.Marshal(map[string]any{"status": map[string]any{"conditions": []corev1.PodCondition{want}}})
	if err != nil {
		return err
	}
	if err := c.Status().Patch(ctx, pod, client.RawPatch(types.StrategicMergePatchType, patch)); err != nil {
		return fmt.Errorf("patch condition %s of pod %s/%s: %w", want.Type, pod.Namespace, pod.Name, err)
	}
	return nil
}
