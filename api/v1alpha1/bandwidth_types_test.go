package v1alpha1

import (
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/api/resource"

	"switchboard/internal/bandwidth"
)

func q(s string) *resource.Quantity {
	v := resource.MustParse(s)
	return &v
}

func TestNetworkBandwidthLimits(t *testing.T) {
	for _, tc := range []struct {
		name string
		b    *NetworkBandwidth
		want bandwidth.Limits
		err  string
	}{
		{name: "none", b: nil},
		{name: "both with burst", b: &NetworkBandwidth{IngressRate: q("100M"), EgressRate: q("1G"), Burst: q("1M")},
			want: bandwidth.Limits{Ingress: bandwidth.Shape{Rate: 100_000_000, Burst: 1_000_000}, Egress: bandwidth.Shape{Rate: 1_000_000_000, Burst: 1_000_000}}},
		{name: "egress only", b: &NetworkBandwidth{EgressRate: q("10M")}, want: bandwidth.Limits{Egress: bandwidth.Shape{Rate: 10_000_000}}},
		{name: "binary suffix", b: &NetworkBandwidth{IngressRate: q("1Mi")}, want: bandwidth.Limits{Ingress: bandwidth.Shape{Rate: 1 << 20}}},
		{name: "fraction of M", b: &NetworkBandwidth{IngressRate: q("1.5M")}, want: bandwidth.Limits{Ingress: bandwidth.Shape{Rate: 1_500_000}}},
		{name: "empty", b: &NetworkBandwidth{}, err: "spec.bandwidth has no ingressRate or egressRate"},
		{name: "burst alone", b: &NetworkBandwidth{Burst: q("1M")}, err: "spec.bandwidth has no ingressRate or egressRate"},
		{name: "negative", b: &NetworkBandwidth{IngressRate: q("-100M")}, err: `spec.bandwidth.ingressRate "-100M" is not positive`},
		{name: "zero", b: &NetworkBandwidth{EgressRate: q("0")}, err: `spec.bandwidth.egressRate "0" is not positive`},
		{name: "fraction of a bit", b: &NetworkBandwidth{EgressRate: q("100m")}, err: `spec.bandwidth.egressRate "100m" is not a whole number of bits`},
		{name: "beyond int64", b: &NetworkBandwidth{EgressRate: q("100E")}, err: `spec.bandwidth.egressRate "100E" is not a whole number of bits below 2^63`},
		{name: "huge", b: &NetworkBandwidth{IngressRate: q("1T")}, err: "spec.bandwidth.ingressRate (with burst): rate 1000000000000 bit/s is above the maximum"},
		{name: "tiny", b: &NetworkBandwidth{IngressRate: q("10k")}, err: "is below the minimum 100000 bit/s"},
		{name: "tiny burst", b: &NetworkBandwidth{IngressRate: q("10M"), Burst: q("1k")}, err: "burst 1000 bit is below the minimum"},
		{name: "burst over a second", b: &NetworkBandwidth{EgressRate: q("1M"), Burst: q("2M")}, err: "spec.bandwidth.egressRate (with burst): burst 2000000 bit is more than one second"},
	} {
		got, err := tc.b.Limits()
		switch {
		case tc.err == "" && (err != nil || got != tc.want):
			t.Errorf("%s: got %+v, %v; want %+v", tc.name, got, err, tc.want)
		case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
			t.Errorf("%s: got %v, want an error with %q", tc.name, err, tc.err)
		}
	}
}

func TestPodBandwidthCNI(t *testing.T) {
	p := &PodBandwidth{IngressRate: 1, IngressBurst: 2, EgressRate: 3, EgressBurst: 4}
	if got := p.CNI(); got != (bandwidth.CNI{IngressRate: 1, IngressBurst: 2, EgressRate: 3, EgressBurst: 4}) {
		t.Errorf("CNI() = %+v", got)
	}
	if got := (*PodBandwidth)(nil).CNI(); got != (bandwidth.CNI{}) {
		t.Errorf("nil CNI() = %+v", got)
	}
}
