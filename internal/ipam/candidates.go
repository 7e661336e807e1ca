package ipam

import (
	"fmt"
	"iter"
	"math"
	"net/netip"
	"strings"
)

// Prefix is the network's cidr.
func (p *Pool) Prefix() netip.Prefix { return p.prefix }

// Gateway is the network's gateway, or the zero Addr if it has none.
func (p *Pool) Gateway() netip.Addr { return p.gateway }

// Size is the number of allocatable addresses, saturating at
// math.MaxUint64 (an IPv6 /64 has 2^64-1).
func (p *Pool) Size() uint64 {
	if p.total.hi != 0 {
		return math.MaxUint64
	}
	return p.total.lo
}

// Overlaps reports whether the pool's cidr shares any address with q (for
// example the cluster's pod or service CIDR). Prefixes of different
// families never overlap.
func (p *Pool) Overlaps(q netip.Prefix) bool { return p.prefix.Overlaps(q) }

// Check returns nil if a may be given to a pod, or an error saying why
// not: outside ipam.cidr, the network or broadcast address, the gateway,
// excluded by ipam.exclude[i], or outside every range of ipam.ranges.
func (p *Pool) Check(a netip.Addr) error {
	if !a.IsValid() {
		return fmt.Errorf("no address given: expected an address in ipam.cidr %s", p.prefix)
	}
	a = a.WithZone("")
	if a.Is4() != p.prefix.Addr().Is4() || a.Is4In6() || !p.prefix.Contains(a) {
		return fmt.Errorf("%s is outside ipam.cidr %s", a, p.prefix)
	}
	v := fromAddr(a)
	for _, r := range p.reserve {
		if r.contains(v) {
			return fmt.Errorf("%s is the %s address of %s", a, p.reservedKind(v), p.prefix)
		}
	}
	if a == p.gateway {
		return fmt.Errorf("%s is the gateway (ipam.gateway)", a)
	}
	for _, x := range p.exclude {
		if x.span.contains(v) {
			return fmt.Errorf("%s is excluded by ipam.exclude[%d] (%s)", a, x.index, x.text)
		}
	}
	for _, r := range p.ranges {
		if r.contains(v) {
			return nil
		}
	}
	return fmt.Errorf("%s is outside every range of ipam.ranges", a)
}

// Candidates yields every allocatable address exactly once, in address
// order starting at an offset derived from seed and wrapping around to the
// start. It is lazy: stopping early costs nothing, whatever the pool's
// size. Callers allocating concurrently should pass different seeds (for
// example a hash of the container ID) so they start at different places
// instead of racing for the first address.
func (p *Pool) Candidates(seed uint64) iter.Seq[netip.Addr] {
	return func(yield func(netip.Addr) bool) {
		if len(p.free) == 0 {
			return
		}
		off := u128{0, mix(seed)}
		if p.total.hi == 0 {
			off.lo %= p.total.lo
		}
		// Find the span holding the off-th address.
		first := 0
		for ; first < len(p.free); first++ {
			n := p.free[first].size()
			if off.less(n) {
				break
			}
			off = off.sub(n)
		}
		is4 := p.prefix.Addr().Is4()
		s := p.free[first]
		start := s.lo.add(off.lo) // off.hi is 0: off began below 2^64 and only shrank
		if !walk(start, s.hi, is4, yield) {
			return
		}
		for i := 1; i < len(p.free); i++ {
			t := p.free[(first+i)%len(p.free)]
			if !walk(t.lo, t.hi, is4, yield) {
				return
			}
		}
		if start != s.lo {
			walk(s.lo, start.sub(u128{0, 1}), is4, yield)
		}
	}
}

// walk yields lo..hi inclusive; it reports false if yield asked to stop.
func walk(lo, hi u128, is4 bool, yield func(netip.Addr) bool) bool {
	for v := lo; ; v = v.add(1) {
		if !yield(v.addr(is4)) {
			return false
		}
		if v == hi {
			return true
		}
	}
}

// AttachmentName is the name of the Attachment that holds address a on
// network: "<network>-<address>" with IPv4 dots and IPv6 colons turned into
// dashes, IPv6 in its expanded form so that every address has exactly one
// name (red-10-20-0-5, red-fd00-0000-0000-0000-0000-0000-0000-0005). The
// result is a valid DNS-1123 subdomain when network is one of at most 213
// characters.
func AttachmentName(network string, a netip.Addr) string {
	a = a.WithZone("")
	var s string
	if a.Is4() {
		s = strings.ReplaceAll(a.String(), ".", "-")
	} else {
		s = strings.ReplaceAll(a.StringExpanded(), ":", "-")
	}
	return network + "-" + s
}
