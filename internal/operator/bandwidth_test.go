package operator_test

import (
	"context"
	"strings"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"

	"switchboard/api/v1alpha1"
)

// TestCRDRejectsBandwidthWithoutRate: the CRD's rule refuses a bandwidth
// object that limits nothing, and a garbage quantity, naming the field.
func TestCRDRejectsBandwidthWithoutRate(t *testing.T) {
	ns := needEnv(t)
	burst := resource.MustParse("1M")
	net := network(ns, "norate", nil)
	net.Spec.Bandwidth = &v1alpha1.NetworkBandwidth{Burst: &burst}
	err := k8s.Create(context.Background(), net)
	if !apierrors.IsInvalid(err) || !strings.Contains(err.Error(), "spec.bandwidth") || !strings.Contains(err.Error(), "bandwidth needs ingressRate or egressRate") {
		t.Fatalf("create with a burst alone: got %v, want Invalid naming spec.bandwidth and the fix", err)
	}
}

// TestBandwidthOutOfBoundsIsInvalidSpec: limits the CRD cannot judge
// (a rate beyond 100G) make the Network InvalidSpec with the field named.
func TestBandwidthOutOfBoundsIsInvalidSpec(t *testing.T) {
	ns := needEnv(t)
	rate := resource.MustParse("1T")
	net := network(ns, "toofast", nil)
	net.Spec.Bandwidth = &v1alpha1.NetworkBandwidth{EgressRate: &rate}
	create(t, net)
	net = waitCondition(t, ns, "toofast", v1alpha1.ConditionReady, v1alpha1.ReasonInvalidSpec)
	if c := condition(net, v1alpha1.ConditionReady); !strings.Contains(c.Message, "spec.bandwidth.egressRate") || !strings.Contains(c.Message, "above the maximum") {
		t.Errorf("Ready message %q does not name spec.bandwidth.egressRate and the bound", c.Message)
	}
}
