package netdev

import (
	"fmt"

	"github.com/vishvananda/netlink"
)

// Shape is a token bucket on what a device transmits: a sustained Rate in
// bits per second, with bursts of up to Burst bits at line rate. Rates
// count whole Ethernet frames (header included, as tc does), so TCP
// goodput through a shaped device is about 95.6% of Rate at MTU 1500.
// The zero Shape is no shaping.
type Shape struct {
	Rate  uint64 // bits per second; 0: unshaped
	Burst uint64 // bits; 0: DefaultBurst of the rate and the device's MTU
}

// Bounds of a Shape, for callers that validate what users write.
const (
	MinRate  = 100_000         // bits/s: below this a single frame takes too long
	MaxRate  = 100_000_000_000 // bits/s: 100 Gbit/s
	MinBurst = 80_000          // bits: 10 kB, more than one 9000-byte frame
)

// shapeLatency is how long a frame may wait in the bucket's queue: the
// queue holds Rate × shapeLatency plus the burst, as the reference CNI
// bandwidth plugin does.
const shapeLatencyUsec = 25_000

// ethHeader is what a frame adds to the MTU: the Ethernet header.
const ethHeader = 14

// DefaultBurst is the burst of a Shape that names none: 20 ms at the rate,
// and at least two frames of the device's MTU, in bits.
func DefaultBurst(rate uint64, mtu int) uint64 {
	return max(rate/50, uint64(2*(mtu+ethHeader)*8))
}

// Validate checks that s can be programmed: a rate within [MinRate,
// MaxRate], a burst (if given) of at least MinBurst and at most one
// second at the rate. The error names the bound.
func (s Shape) Validate() error {
	switch {
	case s.Rate == 0 && s.Burst != 0:
		return fmt.Errorf("burst %d bit without a rate: set a rate too, or no burst", s.Burst)
	case s.Rate == 0:
		return nil
	case s.Rate < MinRate:
		return fmt.Errorf("rate %d bit/s is below the minimum %d bit/s", s.Rate, uint64(MinRate))
	case s.Rate > MaxRate:
		return fmt.Errorf("rate %d bit/s is above the maximum %d bit/s", s.Rate, uint64(MaxRate))
	case s.Burst != 0 && s.Burst < MinBurst:
		return fmt.Errorf("burst %d bit is below the minimum %d bit (one 9000-byte frame must fit)", s.Burst, uint64(MinBurst))
	case s.Burst > s.Rate:
		return fmt.Errorf("burst %d bit is more than one second at the rate (%d bit/s): lower it", s.Burst, s.Rate)
	}
	return nil
}

// tbf is the tbf qdisc that programs s at the root of link (s.Rate > 0).
func tbf(link netlink.Link, s Shape) *netlink.Tbf {
	burst := s.Burst
	if burst == 0 {
		burst = DefaultBurst(s.Rate, link.Attrs().MTU)
	}
	rate, burstBytes := s.Rate/8, uint32(burst/8)
	return &netlink.Tbf{
		QdiscAttrs: netlink.QdiscAttrs{
			LinkIndex: link.Attrs().Index,
			Handle:    netlink.MakeHandle(shapeHandle, 0),
			Parent:    netlink.HANDLE_ROOT,
		},
		Rate:   rate,
		Buffer: netlink.Xmittime(rate, burstBytes),
		Limit:  uint32(rate*shapeLatencyUsec/netlink.TIME_UNITS_PER_SEC) + burstBytes,
	}
}

// shapeHandle is the major handle of the tbf qdiscs that SetShape makes.
const shapeHandle = 0x5b

// SetShape holds what link transmits to s with a tbf qdisc at its root,
// in the namespace of h; the zero Shape removes a tbf that SetShape put
// there. It is convergent: a root tbf that already matches is left alone,
// one that differs is replaced in place (no frame is let through
// unshaped meanwhile). A root qdisc of another kind is replaced by the tbf
// when s shapes, and left alone when it does not. Only tbf is used: this
// kernel has tbf and htb but no tc classifiers or police, and an egress
// qdisc on each end of a veth is enough to shape both directions.
func SetShape(h *netlink.Handle, link netlink.Link, s Shape) error {
	if err := s.Validate(); err != nil {
		return fmt.Errorf("shape %q: %w", link.Attrs().Name, err)
	}
	have, err := rootTBF(h, link)
	if err != nil {
		return err
	}
	if s.Rate == 0 {
		if have == nil {
			return nil
		}
		if err := h.QdiscDel(have); err != nil && !IsNotFound(err) {
			return fmt.Errorf("remove shaping of %q: %w", link.Attrs().Name, err)
		}
		return nil
	}
	want := tbf(link, s)
	if have != nil && sameTBF(have, want) {
		return nil
	}
	if err := h.QdiscReplace(want); err != nil {
		return fmt.Errorf("shape %q to %d bit/s: %w", link.Attrs().Name, s.Rate, err)
	}
	return nil
}

// rootTBF returns link's root qdisc if it is a tbf, else nil.
func rootTBF(h *netlink.Handle, link netlink.Link) (*netlink.Tbf, error) {
	qs, err := h.QdiscList(link)
	if err != nil {
		return nil, fmt.Errorf("list qdiscs of %q: %w", link.Attrs().Name, err)
	}
	for _, q := range qs {
		if t, ok := q.(*netlink.Tbf); ok && q.Attrs().Parent == netlink.HANDLE_ROOT {
			return t, nil
		}
	}
	return nil, nil
}

// sameTBF compares what matters of two tbf qdiscs; the kernel may round
// the buffer (in ticks) by one.
func sameTBF(a, b *netlink.Tbf) bool {
	d := int64(a.Buffer) - int64(b.Buffer)
	return a.Rate == b.Rate && a.Limit == b.Limit && d >= -1 && d <= 1
}

// ShapeOf reads the shaping SetShape put on link: its rate and its burst
// in bits (rounded through the kernel's ticks), or the zero Shape.
func ShapeOf(h *netlink.Handle, link netlink.Link) (Shape, error) {
	t, err := rootTBF(h, link)
	if err != nil || t == nil {
		return Shape{}, err
	}
	return Shape{Rate: t.Rate * 8, Burst: uint64(netlink.Xmitsize(t.Rate, t.Buffer)) * 8}, nil
}
