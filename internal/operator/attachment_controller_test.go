package operator_test

import (
	"context"
	"strings"
	"testing"

	"k8s.io/client-go/tools/record"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"switchboard/api/v1alpha1"
	"switchboard/internal/operator"
)

func TestGCDeletesAttachmentsOfGonePods(t *testing.T) {
	ns := needEnv(t)
	ctx := context.Background()
	create(t, network(ns, "gc", &v1alpha1.IPAM{CIDR: "10.80.0.0/24"}))
	alive := newPod(ns, "alive")
	create(t, alive)

	kept := attachment(ns, "gc", "10.80.0.2", alive)
	ghost := newPod(ns, "ghost") // never created
	ghost.UID = "0b5e55ed-0000-4000-8000-000000000001"
	orphan := attachment(ns, "gc", "10.80.0.3", ghost)
	stale := newPod(ns, "alive") // the same name, an earlier incarnation
	stale.UID = "0b5e55ed-0000-4000-8000-000000000002"
	recreated := attachment(ns, "gc", "10.80.0.4", stale)
	for _, a := range []*v1alpha1.Attachment{kept, orphan, recreated} {
		create(t, a)
	}

	waitGone(t, orphan)
	waitGone(t, recreated)
	msg := waitEvent(t, ns, "Network", "gc", operator.ReasonAttachmentReleased)
	if !strings.Contains(msg, "of pod "+ns+"/") {
		t.Errorf("event %q does not name the pod", msg)
	}

	// The attachment of a live pod with its UID stays: run the collector on
	// it directly, so the check does not depend on timing.
	gc := &operator.AttachmentReconciler{Client: k8s, APIReader: k8s, Recorder: record.NewFakeRecorder(10)}
	res, err := gc.Reconcile(ctx, ctrl.Request{NamespacedName: client.ObjectKeyFromObject(kept)})
	if err != nil {
		t.Fatalf("reconcile kept attachment: %v", err)
	}
	if res.RequeueAfter <= 0 {
		t.Errorf("kept attachment not requeued for a later check: %+v", res)
	}
	if err := k8s.Get(ctx, client.ObjectKeyFromObject(kept), kept); err != nil {
		t.Fatalf("attachment of a live pod: %v", err)
	}

	// Deleting the pod frees its attachment.
	if err := k8s.Delete(ctx, alive); err != nil {
		t.Fatal(err)
	}
	waitGone(t, kept)
}
