package intercluster

import (
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"switchboard/api/v1alpha1"
)

func TestWantCondition(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	past := metav1.NewTime(now.Add(-time.Minute))
	ok := v1alpha1.NetworkDecision{Network: "t/a", Allowed: true, ID: "az-1"}
	for _, tc := range []struct {
		name      string
		decisions []v1alpha1.NetworkDecision
		status    corev1.ConditionStatus
		reason    string
		about     string // in the message
	}{
		{"all allowed", []v1alpha1.NetworkDecision{ok, {Network: "t/b", Allowed: true, ID: "az-2"}}, corev1.ConditionTrue, ConditionReasonAuthorized, "authorized on t/a, t/b"},
		{"one missing", []v1alpha1.NetworkDecision{ok}, corev1.ConditionFalse, ConditionReasonPending, "decision on t/b"},
		{"one refused", []v1alpha1.NetworkDecision{ok, {Network: "t/b", Reason: ReasonNoToken, Detail: "sign one"}}, corev1.ConditionFalse, ReasonNoToken, "t/b: NoToken: sign one"},
		{"one expired", []v1alpha1.NetworkDecision{ok, {Network: "t/b", Allowed: true, ID: "az-2", Expires: &past}}, corev1.ConditionFalse, "Expired", "t/b: Expired"},
	} {
		spec := v1alpha1.AuthorizationSpec{}
		for _, d := range tc.decisions {
			setDecision(&spec, d)
		}
		c := wantCondition([]string{"t/a", "t/b"}, byNetwork(&v1alpha1.Authorization{Spec: spec}), now)
		if c.Status != tc.status || c.Reason != tc.reason || !strings.Contains(c.Message, tc.about) {
			t.Errorf("%s: %s %s %q; want %s %s saying %q", tc.name, c.Status, c.Reason, c.Message, tc.status, tc.reason, tc.about)
		}
	}
}

// TestSetDecision: a decision replaces the one on its network in place.
func TestSetDecision(t *testing.T) {
	spec := v1alpha1.AuthorizationSpec{}
	setDecision(&spec, v1alpha1.NetworkDecision{Network: "t/a", Reason: ReasonNoToken})
	setDecision(&spec, v1alpha1.NetworkDecision{Network: "t/b", Allowed: true, ID: "az-2"})
	setDecision(&spec, v1alpha1.NetworkDecision{Network: "t/a", Allowed: true, ID: "az-1"})
	if len(spec.Networks) != 2 || spec.Networks[0].ID != "az-1" || spec.Networks[1].ID != "az-2" {
		t.Errorf("decisions %+v; want t/a (az-1) then t/b (az-2)", spec.Networks)
	}
}
