package operator_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
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

// TestGCKeepsAnEdgeAttachmentForTheNextEdgePod: an edge Attachment whose
// pod is gone (the edge restarting) is kept through the grace, so that the
// next edge pod takes it over in place and the agent keeps the cable; it
// is deleted once the grace has run out with no edge back.
func TestGCKeepsAnEdgeAttachmentForTheNextEdgePod(t *testing.T) {
	ns := needEnv(t)
	ctx := context.Background()
	create(t, network(ns, "edgegc", nil))
	old := newPod(ns, "edge-old") // never created: the edge pod that was deleted
	old.UID = "0b5e55ed-0000-4000-8000-000000000003"
	edge := &v1alpha1.Attachment{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: v1alpha1.EdgeAttachmentName("edgegc", "gw"),
			Labels: map[string]string{v1alpha1.LabelNetwork: "edgegc", v1alpha1.LabelNode: "gw"}},
		Spec: v1alpha1.AttachmentSpec{Network: "edgegc", Role: v1alpha1.RoleEdge, Node: "gw", NodeIP: "198.18.0.10",
			Interface: "sbn100", Pod: v1alpha1.PodRef{Namespace: ns, Name: old.Name, UID: string(old.UID)}},
	}
	create(t, edge)
	key := ctrl.Request{NamespacedName: client.ObjectKeyFromObject(edge)}
	gc := &operator.AttachmentReconciler{Client: k8s, APIReader: k8s, Recorder: record.NewFakeRecorder(10), EdgeGrace: time.Hour}
	res, err := gc.Reconcile(ctx, key)
	if err != nil || res.RequeueAfter <= 0 {
		t.Fatalf("reconcile edge attachment of a gone pod: %+v, %v; want it requeued", res, err)
	}
	if err := k8s.Get(ctx, key.NamespacedName, edge); err != nil {
		t.Fatalf("edge attachment deleted within its grace: %v", err)
	}

	// The next edge pod takes it over; it is kept as any live pod's.
	next := newPod(ns, "edge-new")
	create(t, next)
	edge.Spec.Pod = v1alpha1.PodRef{Namespace: ns, Name: next.Name, UID: string(next.UID)}
	if err := k8s.Update(ctx, edge); err != nil {
		t.Fatal(err)
	}
	if _, err := gc.Reconcile(ctx, key); err != nil {
		t.Fatal(err)
	}
	if err := k8s.Get(ctx, key.NamespacedName, edge); err != nil {
		t.Fatalf("edge attachment taken over by a live pod: %v", err)
	}

	// No edge comes back: once the grace has run out, it goes.
	gone := &operator.AttachmentReconciler{Client: k8s, APIReader: k8s, Recorder: record.NewFakeRecorder(10), EdgeGrace: time.Nanosecond}
	if err := k8s.Delete(ctx, next); err != nil {
		t.Fatal(err)
	}
	eventually(t, "edge attachment deleted after its grace", func() error {
		if _, err := gone.Reconcile(ctx, key); err != nil {
			return err
		}
		if err := k8s.Get(ctx, key.NamespacedName, edge); err == nil {
			return errors.New("still there")
		}
		return nil
	})
}
