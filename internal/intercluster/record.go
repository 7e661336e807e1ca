package intercluster

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"switchboard/api/v1alpha1"
)

// Reasons of the pod condition NetworksAuthorized.
const (
	ConditionReasonAuthorized = "Authorized"
	ConditionReasonPending    = "Pending"
)

// patchAuthorizations writes auths into pod's annotation with a merge
// patch of that one key, which fails with a conflict if the pod changed
// since it was read (the caller reads it again). pod is updated in place.
func patchAuthorizations(ctx context.Context, c client.Client, pod *corev1.Pod, auths map[string]v1alpha1.PodAuthorization) error {
	v, err := json.Marshal(auths)
	if err != nil {
		return err
	}
	patch, err := json.Marshal(map[string]any{"metadata": map[string]any{
		"resourceVersion": pod.ResourceVersion,
		"annotations":     map[string]string{v1alpha1.AnnotationAuthorizations: string(v)},
	}})
	if err != nil {
		return err
	}
	if err := c.Patch(ctx, pod, client.RawPatch(types.MergePatchType, patch)); err != nil {
		return fmt.Errorf("patch annotation %s of pod %s/%s: %w", v1alpha1.AnnotationAuthorizations, pod.Namespace, pod.Name, err)
	}
	return nil
}

// wantCondition is the NetworksAuthorized condition of a pod that asks for
// the ext-vnet networks keys, given its decisions.
func wantCondition(keys []string, auths map[string]v1alpha1.PodAuthorization, uid types.UID, now time.Time) corev1.PodCondition {
	c := corev1.PodCondition{Type: v1alpha1.ConditionNetworksAuthorized, Status: corev1.ConditionTrue, Reason: ConditionReasonAuthorized}
	var refused, pending []string
	for _, k := range keys {
		a, ok := auths[k]
		switch {
		case !ok || a.PodUID != string(uid):
			pending = append(pending, k)
		case !a.Allowed:
			if len(refused) == 0 {
				c.Reason = a.Reason
			}
			refused = append(refused, fmt.Sprintf("%s: %s: %s", k, a.Reason, a.Detail))
		case a.Expires != nil && !a.Expires.After(now):
			if len(refused) == 0 {
				c.Reason = "Expired"
			}
			refused = append(refused, fmt.Sprintf("%s: Expired: the authorization ended at %s; sign a new token and recreate the pod", k, a.Expires.UTC().Format(time.RFC3339)))
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
func syncCondition(ctx context.Context, c client.Client, pod *corev1.Pod, keys []string, auths map[string]v1alpha1.PodAuthorization) error {
	want := wantCondition(keys, auths, pod.UID, time.Now())
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
