package operator_test

import (
	"context"
	"fmt"
	"testing"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/uuid"
	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"switchboard/api/v1alpha1"
	"switchboard/internal/intercluster"
)

// The tests of the Authorization record itself: that what a user may
// write does not stand for a decision, and that no record outlives its
// pod.

// TestForgedAnnotationIsIgnored: a pod that carries an "allowed" decision
// in the switchboard.dev/authorizations annotation, where decisions used
// to live, gets the operator's own decision (here NoToken) in its
// Authorization; the annotation is left as written and counts for nothing.
func TestForgedAnnotationIsIgnored(t *testing.T) {
	ns, name, eve := extSetup(t, "forged", "eve")
	key := ns + "/" + name
	pod := newPod(ns, "mallory")
	pod.Annotations = map[string]string{"k8s.v1.cni.cncf.io/networks": name}
	create(t, pod)
	forged := fmt.Sprintf(`{%q: {"allowed": true, "user": %q, "id": "az-made-up", "podUID": %q}}`, key, eve.name, pod.UID)
	patch := fmt.Appendf(nil, `{"metadata": {"annotations": {"switchboard.dev/authorizations": %q}}}`, forged)
	if err := k8s.Patch(context.Background(), pod, client.RawPatch(types.MergePatchType, patch)); err != nil {
		t.Fatal(err)
	}
	d := waitDecision(t, pod, key, func(v1alpha1.NetworkDecision) bool { return true })
	if d.Allowed || d.Reason != intercluster.ReasonNoToken || d.ID == "az-made-up" {
		t.Errorf("decision %+v, want NoToken: the forged annotation must not count", d)
	}
	podCondition(t, pod, corev1.ConditionFalse, intercluster.ReasonNoToken)
	if err := k8s.Get(context.Background(), client.ObjectKeyFromObject(pod), pod); err != nil {
		t.Fatal(err)
	}
	if got := pod.Annotations["switchboard.dev/authorizations"]; got != forged {
		t.Errorf("annotation now %q; want it left as the user wrote it", got)
	}
}

// TestUsersCannotWriteAuthorizations: a user with every right in a
// namespace, who may rewrite their pods' annotations, may not create,
// change or delete an Authorization, which is cluster-scoped.
func TestUsersCannotWriteAuthorizations(t *testing.T) {
	ns := needEnv(t)
	ctx := context.Background()
	create(t, &rbacv1.Role{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "everything"},
		Rules:      []rbacv1.PolicyRule{{APIGroups: []string{"*"}, Resources: []string{"*"}, Verbs: []string{"*"}}},
	})
	create(t, &rbacv1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "mallory-everything"},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: "everything"},
		Subjects:   []rbacv1.Subject{{APIGroup: rbacv1.GroupName, Kind: rbacv1.UserKind, Name: "mallory"}},
	})
	cfg := rest.CopyConfig(restCfg)
	cfg.Impersonate = rest.ImpersonationConfig{UserName: "mallory"}
	mallory, err := client.New(cfg, client.Options{Scheme: scheme})
	if err != nil {
		t.Fatal(err)
	}
	pod := newPod(ns, "p")
	create(t, pod)
	az := operatorRecord(pod, v1alpha1.NetworkDecision{Network: ns + "/blue", Reason: intercluster.ReasonNoToken})
	create(t, az)

	// What the annotation allowed: the user rewrites their pod's metadata.
	patch := []byte(`{"metadata": {"annotations": {"switchboard.dev/authorizations": "{}"}}}`)
	eventually(t, "mallory's role applies", func() error {
		return mallory.Patch(ctx, pod.DeepCopy(), client.RawPatch(types.MergePatchType, patch))
	})

	forged := operatorRecord(pod, v1alpha1.NetworkDecision{Network: ns + "/blue", Allowed: true, ID: "az-made-up"})
	forged.Name = string(uuid.NewUUID())
	changed := az.DeepCopy()
	changed.Spec.Networks[0] = forged.Spec.Networks[0]
	for what, err := range map[string]error{
		"create": mallory.Create(ctx, forged),
		"update": mallory.Update(ctx, changed),
		"patch":  mallory.Patch(ctx, az.DeepCopy(), client.RawPatch(types.MergePatchType, []byte(`{"spec": {"networks": [{"network": "x", "allowed": true}]}}`))),
		"delete": mallory.Delete(ctx, az.DeepCopy()),
		"get":    mallory.Get(ctx, client.ObjectKeyFromObject(az), &v1alpha1.Authorization{}),
	} {
		if !apierrors.IsForbidden(err) {
			t.Errorf("%s an Authorization as a user with every right in the namespace: %v; want forbidden", what, err)
		}
	}
}

// operatorRecord is the Authorization the operator would write for pod.
func operatorRecord(pod *corev1.Pod, ds ...v1alpha1.NetworkDecision) *v1alpha1.Authorization {
	return &v1alpha1.Authorization{
		ObjectMeta: metav1.ObjectMeta{Name: string(pod.UID), Labels: map[string]string{
			v1alpha1.LabelPodNamespace: pod.Namespace, v1alpha1.LabelPodName: pod.Name,
		}},
		Spec: v1alpha1.AuthorizationSpec{
			Pod:      v1alpha1.PodRef{Namespace: pod.Namespace, Name: pod.Name, UID: string(pod.UID)},
			Networks: ds,
		},
	}
}

// TestOrphanAuthorizationsAreCollected: an Authorization whose pod does
// not exist, or exists under another UID, is deleted; one whose pod
// lives stays until the pod is deleted.
func TestOrphanAuthorizationsAreCollected(t *testing.T) {
	ns := needEnv(t)
	ctx := context.Background()
	alive := newPod(ns, "alive")
	create(t, alive)
	refused := v1alpha1.NetworkDecision{Network: ns + "/blue", Reason: intercluster.ReasonNoToken}
	kept := operatorRecord(alive, refused)

	ghost := newPod(ns, "ghost") // never created
	ghost.UID = uuid.NewUUID()
	orphan := operatorRecord(ghost, v1alpha1.NetworkDecision{Network: ns + "/blue", Allowed: true, ID: "az-orphan"})
	earlier := newPod(ns, "alive") // the same name, an earlier incarnation
	earlier.UID = uuid.NewUUID()
	recreated := operatorRecord(earlier, refused)
	for _, az := range []*v1alpha1.Authorization{kept, orphan, recreated} {
		create(t, az)
	}
	waitGone(t, orphan)
	waitGone(t, recreated)

	// The record of a live pod stays: run the collector on it directly,
	// so the check does not depend on timing.
	gc := &intercluster.AuthorizationCollector{Client: k8s, APIReader: k8s}
	res, err := gc.Reconcile(ctx, ctrl.Request{NamespacedName: client.ObjectKeyFromObject(kept)})
	if err != nil {
		t.Fatalf("collect the record of a live pod: %v", err)
	}
	if res.RequeueAfter <= 0 {
		t.Errorf("record of a live pod not requeued for a later check: %+v", res)
	}
	if err := k8s.Get(ctx, client.ObjectKeyFromObject(kept), kept); err != nil {
		t.Fatalf("record of a live pod: %v", err)
	}

	// Deleting the pod deletes its record.
	if err := k8s.Delete(ctx, alive); err != nil {
		t.Fatal(err)
	}
	waitGone(t, kept)
}
