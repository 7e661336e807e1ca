package ipam

import (
	"encoding/binary"
	"math"
	"net/netip"
)

// u128 is an address as an unsigned 128-bit integer, so that ranges of
// IPv4 and IPv6 addresses share one arithmetic. IPv4 addresses are held in
// their IPv4-mapped form; ordering within one family is preserved.
type u128 struct{ hi, lo uint64 }

var maxU128 = u128{math.MaxUint64, math.MaxUint64}

func fromAddr(a netip.Addr) u128 {
	b := a.As16()
	return u128{binary.BigEndian.Uint64(b[:8]), binary.BigEndian.Uint64(b[8:])}
}

func (v u128) addr(is4 bool) netip.Addr {
	var b [16]byte
	binary.BigEndian.PutUint64(b[:8], v.hi)
	binary.BigEndian.PutUint64(b[8:], v.lo)
	a := netip.AddrFrom16(b)
	if is4 {
		return a.Unmap()
	}
	return a
}

func (v u128) cmp(w u128) int {
	switch {
	case v.hi < w.hi:
		return -1
	case v.hi > w.hi:
		return 1
	case v.lo < w.lo:
		return -1
	case v.lo > w.lo:
		return 1
	}
	return 0
}

func (v u128) less(w u128) bool { return v.cmp(w) < 0 }

// add returns v+n, wrapping at 2^128.
func (v u128) add(n uint64) u128 {
	lo := v.lo + n
	hi := v.hi
	if lo < v.lo {
		hi++
	}
	return u128{hi, lo}
}

// sub returns v-w, wrapping at 0.
func (v u128) sub(w u128) u128 {
	lo := v.lo - w.lo
	hi := v.hi - w.hi
	if v.lo < w.lo {
		hi--
	}
	return u128{hi, lo}
}

// span is an inclusive interval of addresses, lo <= hi.
type span struct{ lo, hi u128 }

// size is hi-lo+1, saturating at 2^128-1.
func (s span) size() u128 {
	d := s.hi.sub(s.lo)
	if d == maxU128 {
		return d
	}
	return d.add(1)
}

func (s span) contains(v u128) bool { return !v.less(s.lo) && !s.hi.less(v) }

func (s span) overlaps(t span) bool { return !s.hi.less(t.lo) && !t.hi.less(s.lo) }

func prefixSpan(p netip.Prefix) span {
	lo := fromAddr(p.Masked().Addr())
	host := p.Addr().BitLen() - p.Bits() // number of host bits
	var mask u128
	switch {
	case host >= 128:
		mask = maxU128
	case host >= 64:
		mask = u128{1<<(host-64) - 1, math.MaxUint64}
	default:
		mask = u128{0, 1<<host - 1}
	}
	return span{lo, u128{lo.hi | mask.hi, lo.lo | mask.lo}}
}

// subtract removes t from every span of set, which is sorted and disjoint;
// the result is sorted and disjoint too.
func subtract(set []span, t span) []span {
	out := make([]span, 0, len(set)+1)
	for _, s := range set {
		if !s.overlaps(t) {
			out = append(out, s)
			continue
		}
		if s.lo.less(t.lo) {
			out = append(out, span{s.lo, t.lo.sub(u128{0, 1})})
		}
		if t.hi.less(s.hi) {
			out = append(out, span{t.hi.add(1), s.hi})
		}
	}
	return out
}

// mix spreads seeds over the 64-bit space (the splitmix64 finalizer), so
// that neighbouring seeds start far apart.
func mix(seed uint64) uint64 {
	z := seed + 0x9e3779b97f4a7c15
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}
