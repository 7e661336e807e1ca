package wireguard

import (
	"bytes"
	"encoding/binary"
)

// Coalescing of TCP inside VXLAN: the reverse of split for what the edge's
// tunnel carries. Consecutive segments of one pod's TCP stream inside one
// VXLAN flow are written as one large packet with a virtio-net header that
// describes the tunnel (through the injector, inject.go), so the kernel
// decapsulates, bridges and forwards ~45 of them at once, as it does with
// what a network card's receive offload hands it, all the way to the pod.

// tcpInVXLAN is where the headers of a TCP segment inside VXLAN are.
type tcpInVXLAN struct {
	outerTH int // outer UDP header
	innerNH int // inner IP header (after VXLAN and Ethernet)
	th      int // inner TCP header
	hdrLen  int // every header, up to the TCP payload
	outerV6 bool
	innerV6 bool
}

const (
	tcpFlagPSH = 0x08
	tcpFlagACK = 0x10
)

// parseTCPInVXLAN reports where the headers are if p is an unfragmented IP
// packet carrying UDP, VXLAN, an untagged Ethernet frame and an
// unfragmented IP packet carrying TCP with a payload, and false otherwise.
func parseTCPInVXLAN(p []byte) (tcpInVXLAN, bool) {
	var l tcpInVXLAN
	th, ok := udpHeaderAt(p)
	if !ok || len(p) < th+8+8+14 {
		return l, false
	}
	vx := p[th+8:]
	if vx[0] != 0x08 || vx[1] != 0 || vx[2] != 0 || vx[3] != 0 || vx[7] != 0 {
		return l, false
	}
	l.outerTH, l.outerV6 = th, p[0]>>4 == 6
	l.innerNH = th + 8 + 8 + 14
	switch binary.BigEndian.Uint16(p[l.innerNH-2:]) {
	case 0x0800, 0x86dd:
	default:
		return l, false
	}
	ith, ok := transportOf(p[l.innerNH:], protoTCP)
	if !ok || len(p) < l.innerNH+ith+20 {
		return l, false
	}
	l.th, l.innerV6 = l.innerNH+ith, p[l.innerNH]>>4 == 6
	l.hdrLen = l.th + int(p[l.th+12]>>4)*4
	if l.hdrLen < l.th+20 || l.hdrLen >= len(p) {
		return l, false // no payload: nothing to merge
	}
	return l, true
}

// tcpRunStart reports whether p may start a run: a plain segment (ACK
// only) with a right checksum.
func tcpRunStart(p []byte, l tcpInVXLAN) bool {
	return p[l.th+13] == tcpFlagACK && checksumOK(p[l.innerNH:], l.th-l.innerNH, protoTCP)
}

// coalescibleTCP reports whether next continues the run that starts with
// first (headers l; payloads so far: n bytes in segments of gsoSize, the
// last one full), so that they can be written as one large packet.
func coalescibleTCP(first, next []byte, l tcpInVXLAN, n, gsoSize int) bool {
	nl, ok := parseTCPInVXLAN(next)
	size := len(next) - l.hdrLen
	if !ok || nl != l || size > gsoSize || n%gsoSize != 0 || l.hdrLen+n+size > 65535 {
		return false
	}
	be := binary.BigEndian
	ft, nt := first[l.th:l.hdrLen], next[l.th:l.hdrLen]
	switch {
	case !sameIPHeader(first[:l.outerTH], next[:l.outerTH]),
		!bytes.Equal(first[l.outerTH:l.outerTH+4], next[l.outerTH:l.outerTH+4]), // UDP ports
		!bytes.Equal(first[l.outerTH+8:l.innerNH], next[l.outerTH+8:l.innerNH]), // VXLAN, Ethernet
		!sameIPHeader(first[l.innerNH:l.th], next[l.innerNH:l.th]),
		!bytes.Equal(ft[:4], nt[:4]),                     // TCP ports
		be.Uint32(nt[4:]) != be.Uint32(ft[4:])+uint32(n), // the next bytes of the stream
		!bytes.Equal(ft[8:12], nt[8:12]),                 // acknowledgement
		!bytes.Equal(ft[20:], nt[20:]),                   // options, timestamps included
		nt[13]&^tcpFlagPSH != tcpFlagACK:                 // plain segments; PSH ends the run
		return false
	}
	return checksumOK(next[l.innerNH:], l.th-l.innerNH, protoTCP)
}

// mergeTCPHeaders rewrites the headers of first, the start of a run whose
// payloads add up to n bytes, into those of the large packet, and returns
// the virtio-net header that describes it. psh is whether the run's last
// segment had PSH.
func mergeTCPHeaders(first []byte, l tcpInVXLAN, n, gsoSize int, psh bool) vnetHdr {
	total := l.hdrLen + n
	be := binary.BigEndian
	setIPLength(first, total)
	be.PutUint16(first[l.outerTH+4:], uint16(total-l.outerTH))
	// As for any large packet, each checksum field holds the sum of its
	// pseudo header, not inverted.
	be.PutUint16(first[l.outerTH+6:], fold(pseudoSum(first, total-l.outerTH, protoUDP)))
	inner := first[l.innerNH:]
	setIPLength(inner, total-l.innerNH)
	if psh {
		first[l.th+13] |= tcpFlagPSH
	}
	be.PutUint16(first[l.th+16:], fold(pseudoSum(inner, total-l.th, protoTCP)))

	h := vnetHdr{
		flags:   vnetFlagNeedsCsum | vnetFlagTunnelCsum,
		gsoType: vnetGSOTCPv4, hdrLen: uint16(l.hdrLen), gsoSize: uint16(gsoSize),
		csumStart: uint16(l.th), csumOffset: 16,
		outerTH: uint16(l.outerTH), innerNH: uint16(l.innerNH),
	}
	if l.innerV6 {
		h.gsoType = vnetGSOTCPv6
	}
	if l.outerV6 {
		h.gsoType |= vnetGSOTunnelV6
	} else {
		h.gsoType |= vnetGSOTunnelV4
	}
	return h
}
