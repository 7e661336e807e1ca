package netdev

import (
	"fmt"

	"github.com/vishvananda/netlink"
)

// A device's transmit rate is held with a token bucket: a tbf qdisc at the
// root of the device, with a sustained rate in bits per second and bursts
// of up to a number of bits at line rate. Rates count whole Ethernet frames
// (header included), as tc does. Only tbf is used: the kernels this runs on
// have tbf and htb but no tc classifiers, police or ifb, and an egress
// qdisc on each end of a veth is enough to shape both directions. What
// rates are sensible is the callers' to decide (package bandwidth); SetShape
// checks only what the kernel's fields can hold.

// shapeLatencyUsec is how long a frame may wait in the bucket's queue: the
// queue holds rate × 25 ms plus the burst, as the reference CNI bandwidth
// plugin's does.
const shapeLatencyUsec = 25_000

// maxBurstSeconds bounds a burst by the time it lasts at the rate, so that
// the bucket's size in ticks fits the kernel's 32 bits.
const maxBurstSeconds = 60

// shapeHandle is the major handle of the tbf qdiscs that SetShape makes.
const shapeHandle = 0x5b

// tbf is the tbf qdisc that holds link to rate bit/s with burst bits.
func tbf(link netlink.Link, rate, burst uint64) *netlink.Tbf {
	rateBytes, burstBytes := rate/8, uint32(burst/8)
	return &netlink.Tbf{
		QdiscAttrs: netlink.QdiscAttrs{
			LinkIndex: link.Attrs().Index,
			Handle:    netlink.MakeHandle(shapeHandle, 0),
			Parent:    netlink.HANDLE_ROOT,
		},
		Rate:   rateBytes,
		Buffer: netlink.Xmittime(rateBytes, burstBytes),
		Limit:  uint32(rateBytes*shapeLatencyUsec/netlink.TIME_UNITS_PER_SEC) + burstBytes,
	}
}

// SetShape holds what link transmits to rate bits per second with bursts
// of up to burst bits, with a tbf qdisc at its root, in the namespace of h;
// rate 0 removes a root tbf (and burst must then be 0). It is convergent: a
// root tbf that already matches is left alone, one that differs is replaced
// in place (no frame is let through unshaped meanwhile). A root qdisc of
// another kind is replaced by the tbf when rate > 0, and left alone when
// rate is 0.
func SetShape(h *netlink.Handle, link netlink.Link, rate, burst uint64) error {
	name := link.Attrs().Name
	switch {
	case rate == 0 && burst != 0:
		return fmt.Errorf("shape %q: burst %d bit without a rate", name, burst)
	case rate != 0 && rate < 8:
		return fmt.Errorf("shape %q: rate %d bit/s is less than a byte per second", name, rate)
	case rate != 0 && (burst < 8 || burst/8 > 1<<32-1 || burst/rate > maxBurstSeconds):
		return fmt.Errorf("shape %q: burst %d bit does not fit a bucket at %d bit/s (between a byte and %d s at the rate)", name, burst, rate, maxBurstSeconds)
	}
	have, err := rootTBF(h, link)
	if err != nil {
		return err
	}
	if rate == 0 {
		if have == nil {
			return nil
		}
		if err := h.QdiscDel(have); err != nil && !IsNotFound(err) {
			return fmt.Errorf("remove shaping of %q: %w", name, err)
		}
		return nil
	}
	want := tbf(link, rate, burst)
	if have != nil && sameTBF(have, want) {
		return nil
	}
	if err := h.QdiscReplace(want); err != nil {
		return fmt.Errorf("shape %q to %d bit/s: %w", name, rate, err)
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

// ShapeOf reads the shaping of link's root tbf: its rate in bits per second
// and its burst in bits (rounded through the kernel's ticks), or zeros when
// link has no root tbf.
func ShapeOf(h *netlink.Handle, link netlink.Link) (rate, burst uint64, err error) {
	t, err := rootTBF(h, link)
	if err != nil || t == nil {
		return 0, 0, err
	}
	return t.Rate * 8, uint64(netlink.Xmitsize(t.Rate, t.Buffer)) * 8, nil
}
