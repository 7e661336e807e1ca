package v1alpha1

import (
	"fmt"

	"k8s.io/apimachinery/pkg/api/resource"

	"switchboard/internal/bandwidth"
)

// NetworkBandwidth limits every pod interface on a network. Rates are in
// bits per second and the burst in bits, written as Kubernetes quantities:
// "100M" is 100 Mbit/s (k, M, G are powers of 1000; Ki, Mi, Gi of 1024).
// Rates count whole Ethernet frames. Directions are the pod's: ingress is
// what a pod receives, egress what it sends. A pod's own request (the
// "bandwidth" object of its network selection, CNI's bandwidth capability)
// replaces the network's, direction by direction.
// +kubebuilder:validation:XValidation:rule="has(self.ingressRate) || has(self.egressRate)",message="bandwidth needs ingressRate or egressRate (e.g. \"100M\" for 100 Mbit/s); remove bandwidth for no limit"
type NetworkBandwidth struct {
	// IngressRate limits what each pod receives on this network, in bit/s
	// (100k to 100G). Absent: unlimited.
	// +kubebuilder:validation:XValidation:rule="quantity(string(self)).compareTo(quantity('100k')) >= 0 && quantity(string(self)).compareTo(quantity('100G')) <= 0",message="ingressRate must be from 100k to 100G bit/s, e.g. \"100M\" for 100 Mbit/s"
	// +optional
	IngressRate *resource.Quantity `json:"ingressRate,omitempty"`
	// EgressRate limits what each pod sends on this network, in bit/s
	// (100k to 100G). Absent: unlimited.
	// +kubebuilder:validation:XValidation:rule="quantity(string(self)).compareTo(quantity('100k')) >= 0 && quantity(string(self)).compareTo(quantity('100G')) <= 0",message="egressRate must be from 100k to 100G bit/s, e.g. \"100M\" for 100 Mbit/s"
	// +optional
	EgressRate *resource.Quantity `json:"egressRate,omitempty"`
	// Burst is how much a pod may send or receive at line rate above its
	// rate, in bits, for each limited direction: at least 80k (10 kB) and
	// at most one second at the rate. Absent: 20 ms at the rate (at least
	// two full frames).
	// +kubebuilder:validation:XValidation:rule="quantity(string(self)).compareTo(quantity('80k')) >= 0",message="burst must be at least 80k bits (10 kB: one 9000-byte frame must fit), e.g. \"1M\""
	// +optional
	Burst *resource.Quantity `json:"burst,omitempty"`
}

// Limits converts and checks the network's limits; the error names the
// field (spec.bandwidth.ingressRate, ...) and the fix. A nil b is no limit.
func (b *NetworkBandwidth) Limits() (bandwidth.Limits, error) {
	if b == nil {
		return bandwidth.Limits{}, nil
	}
	var bits [3]uint64
	for i, f := range []struct {
		name string
		q    *resource.Quantity
	}{{"ingressRate", b.IngressRate}, {"egressRate", b.EgressRate}, {"burst", b.Burst}} {
		if f.q == nil {
			continue
		}
		v, ok := f.q.AsInt64()
		switch {
		case !ok:
			return bandwidth.Limits{}, fmt.Errorf("spec.bandwidth.%s %q is not a whole number of bits below 2^63: write e.g. \"100M\" for 100 Mbit/s", f.name, f.q.String())
		case v <= 0:
			return bandwidth.Limits{}, fmt.Errorf("spec.bandwidth.%s %q is not positive: write e.g. \"100M\" for 100 Mbit/s, or leave it out for no limit", f.name, f.q.String())
		}
		bits[i] = uint64(v)
	}
	if bits[0] == 0 && bits[1] == 0 {
		return bandwidth.Limits{}, fmt.Errorf("spec.bandwidth has no ingressRate or egressRate: set one (e.g. \"100M\"), or remove spec.bandwidth")
	}
	var l bandwidth.Limits
	if bits[0] != 0 {
		l.Ingress = bandwidth.Shape{Rate: bits[0], Burst: bits[2]}
	}
	if bits[1] != 0 {
		l.Egress = bandwidth.Shape{Rate: bits[1], Burst: bits[2]}
	}
	for _, d := range []struct {
		name string
		s    bandwidth.Shape
	}{{"ingressRate", l.Ingress}, {"egressRate", l.Egress}} {
		if err := d.s.Validate(); err != nil {
			return bandwidth.Limits{}, fmt.Errorf("spec.bandwidth.%s (with burst): %w", d.name, err)
		}
	}
	return l, nil
}

// CNI is p as the CNI entry it mirrors field for field (the conversion
// fails to compile if the two ever differ); nil is the zero entry.
func (p *PodBandwidth) CNI() bandwidth.CNI {
	if p == nil {
		return bandwidth.CNI{}
	}
	return bandwidth.CNI(*p)
}
