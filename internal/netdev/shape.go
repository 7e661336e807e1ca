package netdev

import (
	"fmt"

	"github.com/vishvananda/netlink"

	"switchboard/internal/bandwidth"
)

// shapeLatency is how long a frame may wait in the bucket's queue: the
// queue holds Rate × shapeLatency plus the burst, as the reference CNI
// bandwidth plugin does.
const shapeLatencyUsec = 25_000

// tbf is the tbf qdisc that programs s at the root of link (s.Rate > 0).
func tbf(link netlink.Link, s bandwidth.Shape) *netlink.Tbf {
	burst := s.Burst
	if burst == 0 {
		burst = bandwidth.DefaultBurst(s.Rate, link.Attrs().MTU)
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
func SetShape(h *netlink.Handle, link netlink.Link, s bandwidth.Shape) error {
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
func ShapeOf(h *netlink.Handle, link netlink.Link) (bandwidth.Shape, error) {
	t, err := rootTBF(h, link)
	if err != nil || t == nil {
		return bandwidth.Shape{}, err
	}
	return bandwidth.Shape{Rate: t.Rate * 8, Burst: uint64(netlink.Xmitsize(t.Rate, t.Buffer)) * 8}, nil
}
