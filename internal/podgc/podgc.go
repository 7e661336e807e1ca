// Package podgc serves the collectors that delete what a pod leaves
// behind (its Attachments, its Authorization): it tells whether the pod an
// object names is gone, and deletes the object only if it is still the one
// that was looked at.
package podgc

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"switchboard/api/v1alpha1"
)

// Gone returns why the pod ref is gone (it does not exist, or exists with
// another UID: it was recreated under the same name), or "" if it exists
// with ref's UID; an empty ref.UID matches any. A pod that cache does not
// show so is looked up in api, the API server, before it is declared gone:
// the cache may not have seen a pod created a moment ago.
func Gone(ctx context.Context, cache, api client.Reader, ref v1alpha1.PodRef) (string, error) {
	key := types.NamespacedName{Namespace: ref.Namespace, Name: ref.Name}
	pod := meta()
	err := cache.Get(ctx, key, pod)
	if err == nil && (ref.UID == "" || string(pod.UID) == ref.UID) {
		return "", nil
	}
	if err != nil && !apierrors.IsNotFound(err) {
		return "", fmt.Errorf("get pod %q: %w", key, err)
	}
	pod = meta()
	err = api.Get(ctx, key, pod)
	switch {
	case apierrors.IsNotFound(err):
		return "the pod no longer exists", nil
	case err != nil:
		return "", fmt.Errorf("get pod %q: %w", key, err)
	case ref.UID != "" && string(pod.UID) != ref.UID:
		return fmt.Sprintf("the pod was recreated (UID %s, not %s)", pod.UID, ref.UID), nil
	}
	return "", nil
}

// Delete deletes obj if it is still the object of obj's UID, and reports
// whether it did: an object gone already, or replaced by a new one of the
// same name, is no error and nothing deleted.
func Delete(ctx context.Context, c client.Client, obj client.Object) (bool, error) {
	uid := obj.GetUID()
	err := c.Delete(ctx, obj, client.Preconditions{UID: &uid})
	if apierrors.IsNotFound(err) || apierrors.IsConflict(err) {
		return false, nil
	}
	return err == nil, err
}

func meta() *metav1.PartialObjectMetadata {
	p := &metav1.PartialObjectMetadata{}
	p.SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind("Pod"))
	return p
}
