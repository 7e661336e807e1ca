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

// TestCRDRejectsBandwidthOutOfBounds: the CRD's rules refuse rates and
// bursts out of bounds, and a negative rate, naming the field and the fix.
func TestCRDRejectsBandwidthOutOfBounds(t *testing.T) {
	ns := needEnv(t)
	for _, tc := range []struct {
		rate, burst string
		want        string
	}{
		{"1T", "", "egressRate must be from 100k to 100G bit/s"},
		{"-100M", "", "egressRate must be from 100k to 100G bit/s"},
		{"10k", "", "egressRate must be from 100k to 100G bit/s"},
		{"100M", "1k", "burst must be at least 80k bits"},
	} {
		rate := resource.MustParse(tc.rate)
		net := network(ns, "bounds", nil)
		net.Spec.Bandwidth = &v1alpha1.NetworkBandwidth{EgressRate: &rate}
		if tc.burst != "" {
			b := resource.MustParse(tc.burst)
			net.Spec.Bandwidth.Burst = &b
		}
		err := k8s.Create(context.Background(), net)
		if !apierrors.IsInvalid(err) || !strings.Contains(err.Error(), "spec.bandwidth.") || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("create with egressRate %s, burst %q: got %v, want Invalid saying %q", tc.rate, tc.burst, err, tc.want)
		}
	}
}

// TestBandwidthOutOfBoundsIsInvalidSpec: limits the CRD cannot judge (a
// burst longer than one second at its rate) make the Network InvalidSpec
// with the field named.
func TestBandwidthOutOfBoundsIsInvalidSpec(t *testing.T) {
	ns := needEnv(t)
	rate, burst := resource.MustParse("1M"), resource.MustParse("2M")
	net := network(ns, "longburst", nil)
	net.Spec.Bandwidth = &v1alpha1.NetworkBandwidth{EgressRate: &rate, Burst: &burst}
	create(t, net)
	net = waitCondition(t, ns, "longburst", v1alpha1.ConditionReady, v1alpha1.ReasonInvalidSpec)
	if c := condition(net, v1alpha1.ConditionReady); !strings.Contains(c.Message, "spec.bandwidth.egressRate") || !strings.Contains(c.Message, "more than one second") {
		t.Errorf("Ready message %q does not name spec.bandwidth.egressRate and the bound", c.Message)
	}
}
