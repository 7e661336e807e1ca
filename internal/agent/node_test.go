package agent

import (
	"context"
	"testing"

	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"

	sbv1 "switchboard/api/v1alpha1"
	"switchboard/internal/dataplane"
)

// TestCollectorsSpareADDsInFlight: an ADD in flight has its interface
// before its attachment, and the attachment before ADD's end: neither
// collector takes them until the ADD is over.
func TestCollectorsSpareADDsInFlight(t *testing.T) {
	at := att("t1", "red-10-50-0-7", "red", testNode, "198.18.250.1", "02:00:00:00:00:07", "10.50.0.7/24")
	at.Labels = map[string]string{sbv1.LabelNode: testNode, sbv1.LabelNetwork: "red"}
	at.Spec.ContainerID, at.Spec.Interface = "c7", "net1"
	ta := newTestAgent(t, "10.50.0.0/24", interceptor.Funcs{}, &at)
	ctx := context.Background()
	done := ta.startADD("c8", "net1")
	keep, err := ta.podPortsInUse(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"c7", "c8"} {
		if !keep[dataplane.HostIfName(id, "net1")] {
			t.Errorf("interface of %s not kept: %v", id, keep)
		}
	}

	finish := ta.startADD("c7", "net1")
	ta.collectStaleAttachments(ctx)
	if atts, _ := ta.state(t); len(atts) != 1 {
		t.Errorf("attachment of an ADD in flight collected: %v", atts)
	}
	finish()
	done()
	ta.collectStaleAttachments(ctx)
	if atts, _ := ta.state(t); len(atts) != 0 {
		t.Errorf("attachment without interface or ADD kept: %v", atts)
	}
	if keep, _ := ta.podPortsInUse(ctx); keep[dataplane.HostIfName("c8", "net1")] {
		t.Errorf("interface of an ADD that ended still kept: %v", keep)
	}
}
