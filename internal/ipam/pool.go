// Package ipam is a Network's address pool: it validates a v1alpha1.IPAM,
// says whether an address may be given to a pod, and proposes candidate
// addresses for allocation. It holds no allocation state: the set of
// Attachments in the API is the allocation record, and an Attachment's name
// (AttachmentName) is derived from its address so that the API server's
// name uniqueness settles races between agents.
package ipam

import (
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"

	"switchboard/api/v1alpha1"
)

// Pool is a Network's allocatable address space, built from its
// v1alpha1.IPAM. A Pool is immutable and safe for concurrent use.
type Pool struct {
	prefix  netip.Prefix
	gateway netip.Addr
	ranges  []span     // as given, or the whole prefix; sorted
	exclude []excluded // as given, in order
	reserve []span     // network and broadcast addresses of the prefix
	free    []span     // allocatable addresses; sorted and disjoint
	total   u128       // number of addresses in free
}

type excluded struct {
	index int
	text  string
	span  span
}

// NewPool validates spec and builds its pool. Errors name the offending
// field (ipam.cidr, ipam.ranges[i].start, ipam.exclude[i], ...) and say how
// to fix it.
func NewPool(spec v1alpha1.IPAM) (*Pool, error) {
	prefix, err := parseCIDR(spec.CIDR)
	if err != nil {
		return nil, err
	}
	p := &Pool{prefix: prefix}
	whole := prefixSpan(prefix)
	if err := p.parseRanges(spec.Ranges, whole); err != nil {
		return nil, err
	}
	if err := p.parseExcludes(spec.Exclude); err != nil {
		return nil, err
	}
	p.reserve = reserved(prefix)
	if spec.Gateway != "" {
		gw, err := p.parseAddr("ipam.gateway", spec.Gateway)
		if err != nil {
			return nil, err
		}
		for _, r := range p.reserve {
			if r.contains(fromAddr(gw)) {
				return nil, fmt.Errorf("ipam.gateway %s is the %s address of %s: use a host address such as %s",
					gw, p.reservedKind(fromAddr(gw)), prefix, prefix.Addr().Next())
			}
		}
		p.gateway = gw
	}

	free := append([]span(nil), p.ranges...)
	for _, r := range p.reserve {
		free = subtract(free, r)
	}
	if p.gateway.IsValid() {
		g := fromAddr(p.gateway)
		free = subtract(free, span{g, g})
	}
	for _, x := range p.exclude {
		free = subtract(free, x.span)
	}
	p.free = free
	for _, s := range free {
		p.total = addSat(p.total, s.size())
	}
	if len(free) == 0 {
		return nil, fmt.Errorf("ipam leaves no address to allocate in %s after ipam.ranges, ipam.exclude and ipam.gateway: widen ipam.cidr or ipam.ranges, or exclude less", prefix)
	}
	return p, nil
}

func parseCIDR(s string) (netip.Prefix, error) {
	if s == "" {
		return netip.Prefix{}, errors.New("ipam.cidr is required (e.g. 10.20.0.0/24)")
	}
	prefix, err := netip.ParsePrefix(s)
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("ipam.cidr %q: not a CIDR (e.g. 10.20.0.0/24)", s)
	}
	if prefix.Addr().Is4In6() {
		return netip.Prefix{}, fmt.Errorf("ipam.cidr %s: IPv4-mapped IPv6 is not supported: write the IPv4 CIDR (e.g. 10.20.0.0/24)", prefix)
	}
	if prefix.Masked() != prefix {
		return netip.Prefix{}, fmt.Errorf("ipam.cidr %s has host bits set: use %s", prefix, prefix.Masked())
	}
	return prefix, nil
}

// parseAddr parses an address of field and checks it is in the pool's family
// and inside its cidr.
func (p *Pool) parseAddr(field, s string) (netip.Addr, error) {
	a, err := netip.ParseAddr(s)
	if err != nil || a.Zone() != "" {
		return netip.Addr{}, fmt.Errorf("%s %q: not an IP address (e.g. %s)", field, s, p.prefix.Addr().Next())
	}
	if err := p.sameFamily(field, a.String(), a); err != nil {
		return netip.Addr{}, err
	}
	if !p.prefix.Contains(a) {
		return netip.Addr{}, fmt.Errorf("%s: %s is outside ipam.cidr %s", field, a, p.prefix)
	}
	return a, nil
}

func (p *Pool) sameFamily(field, text string, a netip.Addr) error {
	if a.Is4() == p.prefix.Addr().Is4() && !a.Is4In6() {
		return nil
	}
	return fmt.Errorf("%s %s is %s but ipam.cidr %s is %s: use addresses of one family",
		field, text, family(a), p.prefix, family(p.prefix.Addr()))
}

func family(a netip.Addr) string {
	if a.Is4() {
		return "IPv4"
	}
	return "IPv6"
}

func (p *Pool) parseRanges(ranges []v1alpha1.IPRange, whole span) error {
	if len(ranges) == 0 {
		p.ranges = []span{whole}
		return nil
	}
	for i, r := range ranges {
		field := fmt.Sprintf("ipam.ranges[%d]", i)
		start, err := p.parseAddr(field+".start", r.Start)
		if err != nil {
			return err
		}
		end, err := p.parseAddr(field+".end", r.End)
		if err != nil {
			return err
		}
		if end.Less(start) {
			return fmt.Errorf("%s: start %s is after end %s: swap them", field, start, end)
		}
		s := span{fromAddr(start), fromAddr(end)}
		for j, prev := range p.ranges {
			if prev.overlaps(s) {
				return fmt.Errorf("%s (%s-%s) overlaps ipam.ranges[%d] (%s-%s): merge them or make them disjoint",
					field, start, end, j, ranges[j].Start, ranges[j].End)
			}
		}
		p.ranges = append(p.ranges, s)
	}
	slices.SortFunc(p.ranges, func(a, b span) int { return a.lo.cmp(b.lo) })
	return nil
}

func (p *Pool) parseExcludes(list []string) error {
	for i, text := range list {
		field := fmt.Sprintf("ipam.exclude[%d]", i)
		var px netip.Prefix
		if strings.Contains(text, "/") {
			q, err := netip.ParsePrefix(text)
			if err != nil {
				return fmt.Errorf("%s %q: not an IP or CIDR (e.g. %s or %s)", field, text, p.prefix.Addr().Next(), p.prefix)
			}
			if q.Masked() != q {
				return fmt.Errorf("%s %s has host bits set: use %s", field, q, q.Masked())
			}
			px = q
		} else {
			a, err := netip.ParseAddr(text)
			if err != nil || a.Zone() != "" {
				return fmt.Errorf("%s %q: not an IP or CIDR (e.g. %s or %s)", field, text, p.prefix.Addr().Next(), p.prefix)
			}
			px = netip.PrefixFrom(a, a.BitLen())
		}
		if err := p.sameFamily(field, text, px.Addr()); err != nil {
			return err
		}
		if !p.prefix.Overlaps(px) {
			return fmt.Errorf("%s %s is outside ipam.cidr %s: remove it or correct it", field, text, p.prefix)
		}
		p.exclude = append(p.exclude, excluded{index: i, text: text, span: prefixSpan(px)})
	}
	return nil
}

// reserved returns the addresses of prefix never given to pods: the network
// address, and for IPv4 the broadcast address. Point-to-point prefixes
// (IPv4 /31 and /32, IPv6 /127 and /128) have none (RFC 3021, RFC 6164).
func reserved(prefix netip.Prefix) []span {
	host := prefix.Addr().BitLen() - prefix.Bits()
	if host <= 1 {
		return nil
	}
	whole := prefixSpan(prefix)
	out := []span{{whole.lo, whole.lo}}
	if prefix.Addr().Is4() {
		out = append(out, span{whole.hi, whole.hi})
	}
	return out
}

func (p *Pool) reservedKind(v u128) string {
	if v == fromAddr(p.prefix.Addr()) {
		return "network"
	}
	return "broadcast"
}

func addSat(a, b u128) u128 {
	s := a.add(b.lo)
	s.hi += b.hi
	if s.less(a) {
		return maxU128
	}
	return s
}
