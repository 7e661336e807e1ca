package operator

import (
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/record"

	"switchboard/api/v1alpha1"
)

func TestSetWANEncryption(t *testing.T) {
	edgeAtt := func(node, mode string) v1alpha1.Attachment {
		a := v1alpha1.Attachment{Spec: v1alpha1.AttachmentSpec{Role: v1alpha1.RoleEdge, Node: node}}
		if mode != "" {
			a.Annotations = map[string]string{v1alpha1.AnnotationWANEncryption: mode}
		}
		return a
	}
	pod := v1alpha1.Attachment{Spec: v1alpha1.AttachmentSpec{Node: "n2"}}
	for _, tc := range []struct {
		name   string
		typ    v1alpha1.NetworkType
		atts   []v1alpha1.Attachment
		status metav1.ConditionStatus // "": no condition
		event  bool
	}{
		{"no edge carries it", v1alpha1.ExtVNet, []v1alpha1.Attachment{pod}, "", false},
		{"WireGuard", v1alpha1.ExtVNet, []v1alpha1.Attachment{pod, edgeAtt("gw", v1alpha1.WANWireGuard)}, metav1.ConditionTrue, false},
		{"plain VXLAN", v1alpha1.ExtVNet, []v1alpha1.Attachment{edgeAtt("gw", v1alpha1.WANPlainVXLAN)}, metav1.ConditionFalse, true},
		{"one of two plain", v1alpha1.ExtVNet, []v1alpha1.Attachment{edgeAtt("gw1", v1alpha1.WANWireGuard), edgeAtt("gw2", v1alpha1.WANPlainVXLAN)}, metav1.ConditionFalse, true},
		{"not ext-vnet", v1alpha1.VNet, []v1alpha1.Attachment{pod}, "", false},
	} {
		rec := record.NewFakeRecorder(10)
		r := &NetworkReconciler{Recorder: rec}
		net := &v1alpha1.Network{Spec: v1alpha1.NetworkSpec{Type: tc.typ}}
		r.setWANEncryption(net, tc.atts)
		c := meta.FindStatusCondition(net.Status.Conditions, v1alpha1.ConditionWANEncrypted)
		switch {
		case tc.status == "" && c != nil:
			t.Errorf("%s: condition %+v, want none", tc.name, c)
		case tc.status != "" && (c == nil || c.Status != tc.status):
			t.Errorf("%s: condition %+v, want status %s", tc.name, c, tc.status)
		}
		if got := len(rec.Events) > 0; got != tc.event {
			t.Errorf("%s: Warning event %v, want %v", tc.name, got, tc.event)
		}
		if tc.event {
			if e := <-rec.Events; !strings.Contains(e, "Warning InsecurePlainVXLAN") || !strings.Contains(e, "--insecure-plain-vxlan-wan") {
				t.Errorf("%s: event %q does not warn with the flag's name", tc.name, e)
			}
			// The same state again: no second event.
			r.setWANEncryption(net, tc.atts)
			if len(rec.Events) != 0 {
				t.Errorf("%s: a second event for an unchanged state", tc.name)
			}
		}
	}
}
