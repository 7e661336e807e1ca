// Package bandwidth is the speed limits of a pod interface: what they
// are (a token bucket per direction, in bits), the bounds a limit must
// keep, how a Network's limits combine with a pod's, and how both are
// written: Kubernetes quantities on a Network, and the entry of CNI's
// "bandwidth" capability (runtimeConfig.bandwidth, as Multus passes it
// from a pod's network selection) on a pod. It imports nothing but the
// standard library, so the CNI plugin, the API types and the data plane
// share it.
//
// Directions are the pod's, as in CNI: ingress is what the pod receives,
// egress what it sends. Rates count Ethernet frames (header included), as
// tc does, so TCP goodput is about 95.6% of the rate at MTU 1500.
package bandwidth

import "fmt"

// Shape is a token bucket: a sustained Rate in bits per second, with
// bursts of up to Burst bits at line rate. The zero Shape is no limit.
type Shape struct {
	Rate  uint64 // bits per second; 0: unlimited
	Burst uint64 // bits; 0: DefaultBurst of the rate and the device's MTU
}

// Bounds of a Shape.
const (
	MinRate  = 100_000         // bits/s (100k): below this one frame takes too long
	MaxRate  = 100_000_000_000 // bits/s (100G)
	MinBurst = 80_000          // bits (80k = 10 kB): a 9000-byte frame must fit
)

// DefaultBurst is the burst of a Shape that names none: 20 ms at the rate,
// and at least two frames of the device's MTU, in bits.
func DefaultBurst(rate uint64, mtu int) uint64 {
	const ethHeader = 14
	return max(rate/50, uint64(2*(mtu+ethHeader)*8))
}

// Validate checks that s can be programmed: a rate within [MinRate,
// MaxRate], a burst (if given) of at least MinBurst and at most one second
// at the rate, and no burst without a rate. The error says which bound.
func (s Shape) Validate() error {
	switch {
	case s.Rate == 0 && s.Burst != 0:
		return fmt.Errorf("burst %d bit without a rate: set a rate too, or no burst", s.Burst)
	case s.Rate == 0:
		return nil
	case s.Rate < MinRate:
		return fmt.Errorf("rate %d bit/s is below the minimum %d bit/s (100k)", s.Rate, uint64(MinRate))
	case s.Rate > MaxRate:
		return fmt.Errorf("rate %d bit/s is above the maximum %d bit/s (100G)", s.Rate, uint64(MaxRate))
	case s.Burst != 0 && s.Burst < MinBurst:
		return fmt.Errorf("burst %d bit is below the minimum %d bit (80k: one 9000-byte frame must fit)", s.Burst, uint64(MinBurst))
	case s.Burst > s.Rate:
		return fmt.Errorf("burst %d bit is more than one second at the rate (%d bit/s): lower it", s.Burst, s.Rate)
	}
	return nil
}

// Limits are a pod interface's limits in each direction, as seen from the
// pod. The zero Limits is no limit.
type Limits struct {
	Ingress Shape // what the pod receives
	Egress  Shape // what the pod sends
}

// IsZero reports whether l limits nothing.
func (l Limits) IsZero() bool { return l == Limits{} }

// Validate checks both directions; the error names the direction.
func (l Limits) Validate() error {
	if err := l.Ingress.Validate(); err != nil {
		return fmt.Errorf("ingress: %w", err)
	}
	if err := l.Egress.Validate(); err != nil {
		return fmt.Errorf("egress: %w", err)
	}
	return nil
}

// Override returns network's limits with each direction that pod limits
// replaced by pod's (rate and burst together): a pod's own request wins
// over its network's, direction by direction.
func Override(network, pod Limits) Limits {
	out := network
	if pod.Ingress.Rate != 0 {
		out.Ingress = pod.Ingress
	}
	if pod.Egress.Rate != 0 {
		out.Egress = pod.Egress
	}
	return out
}

// CNI is the entry of CNI's "bandwidth" capability: what Multus puts in
// runtimeConfig.bandwidth from the "bandwidth" object of a pod's network
// selection, and what the reference bandwidth plugin reads. Rates are in
// bits per second, bursts in bits; 0 (or absent) is no limit (a burst: the
// default).
type CNI struct {
	IngressRate  int64 `json:"ingressRate,omitempty"`
	IngressBurst int64 `json:"ingressBurst,omitempty"`
	EgressRate   int64 `json:"egressRate,omitempty"`
	EgressBurst  int64 `json:"egressBurst,omitempty"`
}

// Limits converts and validates c; the error names the field
// (ingressRate, ...) and the bound.
func (c CNI) Limits() (Limits, error) {
	for _, f := range []struct {
		name string
		v    int64
	}{{"ingressRate", c.IngressRate}, {"ingressBurst", c.IngressBurst}, {"egressRate", c.EgressRate}, {"egressBurst", c.EgressBurst}} {
		if f.v < 0 {
			return Limits{}, fmt.Errorf("%s %d is negative: give bits (per second for a rate), or 0 for none", f.name, f.v)
		}
	}
	l := Limits{
		Ingress: Shape{Rate: uint64(c.IngressRate), Burst: uint64(c.IngressBurst)},
		Egress:  Shape{Rate: uint64(c.EgressRate), Burst: uint64(c.EgressBurst)},
	}
	if err := l.Ingress.Validate(); err != nil {
		return Limits{}, fmt.Errorf("ingressRate/ingressBurst: %w", err)
	}
	if err := l.Egress.Validate(); err != nil {
		return Limits{}, fmt.Errorf("egressRate/egressBurst: %w", err)
	}
	return l, nil
}
