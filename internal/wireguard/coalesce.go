package wireguard

import (
	"bytes"
	"encoding/binary"
)

// Coalescing of decrypted packets before they are written to the TUN
// device, as a network card's receive offload does and as wireguard-go's
// own device does for the packets it writes.
//
// The edge's VXLAN arrives from the peer gateway as one UDP datagram per
// frame. Segments of one TCP stream inside it are merged whole
// (coalesce_tcp.go); failing that, consecutive datagrams of one UDP flow
// (same addresses and ports, same size but for the last) are written as
// one large UDP packet (USO), one system call for up to ~45 frames, which
// the kernel cuts again at the VXLAN socket.

// udpHeaderAt returns the offset of the UDP header of p if p is an
// unfragmented IP packet carrying one UDP datagram with a payload, whose
// IP and UDP length fields match len(p), and false otherwise.
func udpHeaderAt(p []byte) (int, bool) {
	th, ok := transportOf(p, protoUDP)
	if !ok || len(p) <= th+8 || int(binary.BigEndian.Uint16(p[th+4:])) != len(p)-th {
		return 0, false
	}
	return th, true
}

// transportOf returns the offset of the transport header of the IP packet
// p if it carries proto, is not a fragment, has no IPv6 extension header
// and its length field matches len(p).
func transportOf(p []byte, proto uint8) (int, bool) {
	if !ipHeaderFits(p) {
		return 0, false
	}
	be := binary.BigEndian
	if p[0]>>4 == 6 {
		return 40, p[6] == proto && int(be.Uint16(p[4:]))+40 == len(p)
	}
	ihl := int(p[0]&0x0f) * 4
	frag := be.Uint16(p[6:]) & 0x3fff // MF and the fragment offset
	return ihl, p[9] == proto && frag == 0 && int(be.Uint16(p[2:])) == len(p)
}

// coalescible reports whether next continues the run that starts with
// first (UDP header at th; payloads so far: n bytes in datagrams of
// gsoSize bytes, the last one full), so that they can be written as one
// large packet.
func coalescible(first, next []byte, th, n, gsoSize int) bool {
	nth, ok := udpHeaderAt(next)
	size := len(next) - th - 8
	if !ok || nth != th || size > gsoSize || n%gsoSize != 0 || th+8+n+size > 65535 {
		return false
	}
	return sameIPHeader(first[:th], next[:th]) && bytes.Equal(first[th:th+4], next[th:th+4]) &&
		checksumOK(next, th, protoUDP)
}

// sameIPHeader compares two IP headers except for the fields that differ
// between packets of one flow (IPv4: total length, identifier, header
// checksum; IPv6: payload length).
func sameIPHeader(a, b []byte) bool {
	if len(a) != len(b) {
		return false
	}
	if a[0]>>4 == 6 {
		return bytes.Equal(a[:4], b[:4]) && bytes.Equal(a[6:], b[6:])
	}
	return bytes.Equal(a[:2], b[:2]) && bytes.Equal(a[6:10], b[6:10]) && bytes.Equal(a[12:], b[12:])
}

// checksumOK verifies the UDP or TCP checksum of the transport header at th
// of the IP packet p. A datagram without one, or with a wrong one, is
// written alone, for the kernel to judge, rather than merged into a packet
// whose checksum the kernel takes as checked.
func checksumOK(p []byte, th int, proto uint8) bool {
	if proto == protoUDP && p[th+6] == 0 && p[th+7] == 0 {
		return false
	}
	return fold(sum(p[th:], pseudoSum(p, len(p)-th, proto))) == 0xffff
}

// mergeHeaders rewrites the headers of first, the start of a run whose
// UDP payloads add up to n bytes, into those of the large packet, and
// returns the virtio-net header that describes it.
func mergeHeaders(first []byte, th, n, gsoSize int) vnetHdr {
	total := th + 8 + n
	be := binary.BigEndian
	setIPLength(first, total)
	be.PutUint16(first[th+4:], uint16(total-th))
	// As for any large packet, the checksum field holds the sum of the
	// pseudo header, not inverted; the kernel completes each datagram's.
	be.PutUint16(first[th+6:], fold(pseudoSum(first, total-th, protoUDP)))
	return vnetHdr{flags: vnetFlagNeedsCsum, gsoType: vnetGSOUDPL4, hdrLen: uint16(th + 8), gsoSize: uint16(gsoSize), csumStart: uint16(th), csumOffset: 6}
}

// setIPLength sets the length field of the IP header at the start of p to
// describe a packet of total bytes, and the IPv4 header checksum.
func setIPLength(p []byte, total int) {
	be := binary.BigEndian
	if p[0]>>4 == 6 {
		be.PutUint16(p[4:], uint16(total-40))
		return
	}
	be.PutUint16(p[2:], uint16(total))
	ihl := int(p[0]&0x0f) * 4
	p[10], p[11] = 0, 0
	be.PutUint16(p[10:], ^fold(sum(p[:ihl], 0)))
}

// pseudoSum is the unfolded sum of the pseudo header of the IP packet p for
// a transport segment of length bytes.
func pseudoSum(p []byte, length int, proto uint8) uint64 {
	var acc uint64
	if p[0]>>4 == 6 {
		acc = sum(p[8:40], 0)
	} else {
		acc = sum(p[12:20], 0)
	}
	return acc + uint64(proto) + uint64(length)
}
