package bandwidth_test

import (
	"strings"
	"testing"

	"switchboard/internal/bandwidth"
)

func TestShapeValidate(t *testing.T) {
	for _, tc := range []struct {
		s    bandwidth.Shape
		want string // "" valid, else part of the error
	}{
		{bandwidth.Shape{}, ""},
		{bandwidth.Shape{Rate: 100_000_000}, ""},
		{bandwidth.Shape{Rate: 100_000_000, Burst: 1_000_000}, ""},
		{bandwidth.Shape{Rate: bandwidth.MinRate}, ""},
		{bandwidth.Shape{Rate: bandwidth.MaxRate, Burst: bandwidth.MaxRate}, ""},
		{bandwidth.Shape{Burst: 1_000_000}, "without a rate"},
		{bandwidth.Shape{Rate: 1}, "below the minimum"},
		{bandwidth.Shape{Rate: bandwidth.MaxRate + 1}, "above the maximum"},
		{bandwidth.Shape{Rate: 1 << 63}, "above the maximum"},
		{bandwidth.Shape{Rate: 100_000_000, Burst: 8}, "burst 8 bit is below"},
		{bandwidth.Shape{Rate: 1_000_000, Burst: 2_000_000}, "more than one second"},
	} {
		err := tc.s.Validate()
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%+v: %v", tc.s, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%+v: got %v, want an error with %q", tc.s, err, tc.want)
		}
	}
}

func TestCNILimits(t *testing.T) {
	for _, tc := range []struct {
		c    bandwidth.CNI
		want bandwidth.Limits
		err  string
	}{
		{c: bandwidth.CNI{}},
		{c: bandwidth.CNI{IngressRate: 10_000_000, EgressRate: 20_000_000, EgressBurst: 200_000},
			want: bandwidth.Limits{Ingress: bandwidth.Shape{Rate: 10_000_000}, Egress: bandwidth.Shape{Rate: 20_000_000, Burst: 200_000}}},
		{c: bandwidth.CNI{IngressRate: -1}, err: "ingressRate -1 is negative"},
		{c: bandwidth.CNI{EgressBurst: -5, EgressRate: 1_000_000}, err: "egressBurst -5 is negative"},
		{c: bandwidth.CNI{IngressRate: 1 << 62}, err: "ingressRate/ingressBurst: rate 4611686018427387904 bit/s is above the maximum"},
		{c: bandwidth.CNI{EgressRate: 1000}, err: "egressRate/egressBurst: rate 1000 bit/s is below the minimum"},
		{c: bandwidth.CNI{IngressBurst: 100_000}, err: "without a rate"},
	} {
		got, err := tc.c.Limits()
		switch {
		case tc.err == "" && (err != nil || got != tc.want):
			t.Errorf("%+v: got %+v, %v; want %+v", tc.c, got, err, tc.want)
		case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
			t.Errorf("%+v: got %v, want an error with %q", tc.c, err, tc.err)
		}
	}
}

func TestOverride(t *testing.T) {
	net := bandwidth.Limits{Ingress: bandwidth.Shape{Rate: 1e8, Burst: 1e6}, Egress: bandwidth.Shape{Rate: 5e7}}
	pod := bandwidth.Limits{Egress: bandwidth.Shape{Rate: 2e7, Burst: 3e5}}
	want := bandwidth.Limits{Ingress: net.Ingress, Egress: pod.Egress}
	if got := bandwidth.Override(net, pod); got != want {
		t.Errorf("Override = %+v, want %+v", got, want)
	}
	if got := bandwidth.Override(net, bandwidth.Limits{}); got != net {
		t.Errorf("Override with no pod limits = %+v, want the network's", got)
	}
	if got := bandwidth.Override(bandwidth.Limits{}, pod); got != pod {
		t.Errorf("Override on an unlimited network = %+v, want the pod's", got)
	}
}
