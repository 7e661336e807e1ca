package wireguard

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// Segmentation of the TUN device's large packets.
//
// With segmentation offloads enabled on the TUN device, the kernel hands
// the device one large packet (up to 64 KiB) where a network card would
// have received it, with a virtio-net header that says how to cut it into
// wire-sized packets: a TCP or UDP packet (TSO, USO), or, since Linux 6.17,
// the same inside a UDP tunnel such as VXLAN (outer IP, UDP, VXLAN,
// Ethernet, inner IP, inner TCP or UDP). WireGuard encrypts packets one by
// one, so the device cuts them here, as a network card would, and fills in
// the lengths, sequence numbers and checksums of every piece.
//
// Without the tunnel offload, every frame the edge's inner VXLAN sends
// reaches the device as its own small packet, one read per frame; with it,
// a whole burst of a pod's TCP stream arrives in one read.

// virtio-net header fields (include/uapi/linux/virtio_net.h).
const (
	vnetFlagNeedsCsum  = 1
	vnetFlagTunnelCsum = 8 // the outer UDP checksum is to be computed

	vnetGSONone      = 0
	vnetGSOTCPv4     = 1
	vnetGSOTCPv6     = 4
	vnetGSOUDPL4     = 5
	vnetGSOTunnelV4  = 0x20
	vnetGSOTunnelV6  = 0x40
	vnetGSOTunnel    = vnetGSOTunnelV4 | vnetGSOTunnelV6
	vnetGSOECN       = 0x80
	vnetTunnelHdrLen = 24 // struct virtio_net_hdr_v1_hash_tunnel
)

// vnetHdr is the part of struct virtio_net_hdr_v1_hash_tunnel the device
// uses, as the kernel writes it before every packet (little endian).
type vnetHdr struct {
	flags      uint8
	gsoType    uint8
	hdrLen     uint16 // every header of a large packet (split finds it itself)
	gsoSize    uint16
	csumStart  uint16
	csumOffset uint16
	outerTH    uint16 // offset of the outer UDP header (tunnel only)
	innerNH    uint16 // offset of the inner IP header (tunnel only)
}

func parseVnetHdr(b []byte) (vnetHdr, error) {
	if len(b) < vnetTunnelHdrLen {
		return vnetHdr{}, fmt.Errorf("virtio-net header of %d bytes, want %d", len(b), vnetTunnelHdrLen)
	}
	le := binary.LittleEndian
	return vnetHdr{
		flags:      b[0],
		gsoType:    b[1],
		hdrLen:     le.Uint16(b[2:]),
		gsoSize:    le.Uint16(b[4:]),
		csumStart:  le.Uint16(b[6:]),
		csumOffset: le.Uint16(b[8:]),
		outerTH:    le.Uint16(b[20:]),
		innerNH:    le.Uint16(b[22:]),
	}, nil
}

func (h vnetHdr) encode(b []byte) {
	clear(b[:vnetTunnelHdrLen])
	le := binary.LittleEndian
	b[0], b[1] = h.flags, h.gsoType
	le.PutUint16(b[2:], h.hdrLen)
	le.PutUint16(b[4:], h.gsoSize)
	le.PutUint16(b[6:], h.csumStart)
	le.PutUint16(b[8:], h.csumOffset)
	le.PutUint16(b[20:], h.outerTH)
	le.PutUint16(b[22:], h.innerNH)
}

// shift moves the offsets of h by n bytes, for a packet written behind an
// Ethernet header of n bytes.
func (h *vnetHdr) shift(n int) {
	if h.flags&vnetFlagNeedsCsum != 0 {
		h.csumStart += uint16(n)
	}
	if h.hdrLen != 0 {
		h.hdrLen += uint16(n)
	}
	if h.gsoType&vnetGSOTunnel != 0 {
		h.outerTH += uint16(n)
		h.innerNH += uint16(n)
	}
}

var errTooManySegments = errors.New("large packet needs more segments than the read batch holds")

// split writes the packet pkt, described by h, into out[i][offset:] as
// wire-sized packets with their lengths in sizes, and returns how many it
// wrote. A packet that needs no segmentation is copied as it is, its
// checksum completed if the kernel left that to the device.
func split(pkt []byte, h vnetHdr, out [][]byte, sizes []int, offset int) (int, error) {
	if h.gsoType == vnetGSONone {
		if len(out) == 0 || len(out[0]) < offset+len(pkt) {
			return 0, fmt.Errorf("packet of %d bytes does not fit the read buffer", len(pkt))
		}
		p := out[0][offset : offset+len(pkt)]
		copy(p, pkt)
		if h.flags&vnetFlagNeedsCsum != 0 {
			if err := completeChecksum(p, int(h.csumStart), int(h.csumOffset)); err != nil {
				return 0, err
			}
		}
		sizes[0] = len(pkt)
		return 1, nil
	}
	l, err := layoutOf(pkt, h)
	if err != nil {
		return 0, err
	}
	payload := pkt[l.hdrLen:]
	n := 0
	for first := 0; first < len(payload); first += l.gsoSize {
		if n == len(out) {
			return 0, errTooManySegments
		}
		last := min(first+l.gsoSize, len(payload))
		size := l.hdrLen + last - first
		if len(out[n]) < offset+size {
			return 0, fmt.Errorf("segment of %d bytes does not fit the read buffer", size)
		}
		seg := out[n][offset : offset+size]
		copy(seg, pkt[:l.hdrLen])
		copy(seg[l.hdrLen:], payload[first:last])
		l.fix(seg, n, first, last == len(payload))
		sizes[n] = size
		n++
	}
	return n, nil
}

// layout is where the headers of a large packet are.
type layout struct {
	tunnel     bool
	tunnelCsum bool
	outerTH    int // outer UDP header (tunnel only)
	innerNH    int // the IP header of the segmented transport (0 without tunnel)
	th         int // its TCP or UDP header
	tcp        bool
	hdrLen     int // every header, copied into each segment
	gsoSize    int
}

func layoutOf(pkt []byte, h vnetHdr) (layout, error) {
	l := layout{th: int(h.csumStart), gsoSize: int(h.gsoSize), tunnel: h.gsoType&vnetGSOTunnel != 0}
	if l.gsoSize == 0 {
		return l, errors.New("large packet with a segment size of 0")
	}
	switch h.gsoType &^ (vnetGSOTunnel | vnetGSOECN) {
	case vnetGSOTCPv4, vnetGSOTCPv6:
		l.tcp = true
	case vnetGSOUDPL4:
	default:
		return l, fmt.Errorf("large packet of unknown kind (virtio-net GSO type %#x)", h.gsoType)
	}
	if l.tunnel {
		l.tunnelCsum = h.flags&vnetFlagTunnelCsum != 0
		l.outerTH, l.innerNH = int(h.outerTH), int(h.innerNH)
		if l.outerTH < 20 || l.outerTH+8 > l.innerNH || l.innerNH > len(pkt) {
			return l, fmt.Errorf("tunnel headers out of order (outer UDP at %d, inner IP at %d)", l.outerTH, l.innerNH)
		}
	}
	if l.innerNH > l.th || l.th > len(pkt) || !ipHeaderFits(pkt[l.innerNH:l.th]) {
		return l, fmt.Errorf("transport header at %d leaves no room for the IP header at %d", l.th, l.innerNH)
	}
	if l.tunnel && !ipHeaderFits(pkt[:l.outerTH]) {
		return l, fmt.Errorf("outer UDP header at %d leaves no room for the outer IP header", l.outerTH)
	}
	l.hdrLen = l.th + 8
	if l.tcp {
		if len(pkt) < l.th+20 {
			return l, errors.New("large packet shorter than its TCP header")
		}
		l.hdrLen = l.th + int(pkt[l.th+12]>>4)*4
	}
	if l.hdrLen > len(pkt) || l.hdrLen < l.th+8 {
		return l, fmt.Errorf("large packet of %d bytes shorter than its headers (%d)", len(pkt), l.hdrLen)
	}
	return l, nil
}

// fix sets the lengths, identifiers, sequence number, flags and checksums
// of segment number i, whose payload starts first bytes into the original
// payload.
func (l layout) fix(seg []byte, i, first int, last bool) {
	be := binary.BigEndian
	fixIP(seg[l.innerNH:], i)
	if l.tcp {
		t := seg[l.th:]
		be.PutUint32(t[4:], be.Uint32(t[4:])+uint32(first))
		if !last {
			t[13] &^= 0x01 | 0x08 // FIN, PSH: only on the last segment
		}
		if i > 0 {
			t[13] &^= 0x80 // CWR: only on the first
		}
		setL4Checksum(seg[l.innerNH:], l.th-l.innerNH, 16, protoTCP)
	} else {
		be.PutUint16(seg[l.th+4:], uint16(len(seg)-l.th))
		setL4Checksum(seg[l.innerNH:], l.th-l.innerNH, 6, protoUDP)
	}
	if !l.tunnel {
		return
	}
	fixIP(seg, i)
	be.PutUint16(seg[l.outerTH+4:], uint16(len(seg)-l.outerTH))
	if l.tunnelCsum {
		setL4Checksum(seg, l.outerTH, 6, protoUDP)
	} else {
		be.PutUint16(seg[l.outerTH+6:], 0)
	}
}

// ipHeaderFits reports whether b starts with an IPv4 or IPv6 header that
// ends within b.
func ipHeaderFits(b []byte) bool {
	if len(b) < 20 {
		return false
	}
	switch b[0] >> 4 {
	case 4:
		return int(b[0]&0x0f)*4 >= 20 && int(b[0]&0x0f)*4 <= len(b)
	case 6:
		return len(b) >= 40
	}
	return false
}

const (
	protoTCP = 6
	protoUDP = 17
)

// fixIP sets the length of the IP packet p (the segment from its IP header
// on) and, for IPv4, a per-segment identifier and the header checksum.
func fixIP(p []byte, i int) {
	if p[0]>>4 == 4 {
		binary.BigEndian.PutUint16(p[4:], binary.BigEndian.Uint16(p[4:])+uint16(i))
	}
	setIPLength(p, len(p))
}

// setL4Checksum fills the TCP or UDP checksum (at csumOff within the
// transport header at th of the IP packet p) over the pseudo header and the
// transport header and payload.
func setL4Checksum(p []byte, th, csumOff int, proto uint8) {
	t := p[th:]
	t[csumOff], t[csumOff+1] = 0, 0
	c := ^fold(sum(t, pseudoSum(p, len(t), proto)))
	if c == 0 && proto == protoUDP {
		c = 0xffff // UDP: 0 means "no checksum"
	}
	binary.BigEndian.PutUint16(t[csumOff:], c)
}

// completeChecksum finishes a checksum the kernel left to the device: the
// ones' complement of the sum from start to the end of the packet, added to
// the partial sum (the pseudo header) already stored at start+off.
func completeChecksum(p []byte, start, off int) error {
	if start+off+2 > len(p) {
		return fmt.Errorf("checksum at %d+%d outside a packet of %d bytes", start, off, len(p))
	}
	binary.BigEndian.PutUint16(p[start+off:], ^fold(sum(p[start:], 0)))
	return nil
}

// sum adds b to acc as big-endian 16-bit words, without folding (32-bit
// words added to 64 bits: the carries are folded once at the end).
func sum(b []byte, acc uint64) uint64 {
	be := binary.BigEndian
	for len(b) >= 8 {
		acc += uint64(be.Uint32(b)) + uint64(be.Uint32(b[4:]))
		b = b[8:]
	}
	if len(b) >= 4 {
		acc += uint64(be.Uint32(b))
		b = b[4:]
	}
	if len(b) >= 2 {
		acc += uint64(be.Uint16(b))
		b = b[2:]
	}
	if len(b) == 1 {
		acc += uint64(b[0]) << 8
	}
	return acc
}

func fold(acc uint64) uint16 {
	for acc > 0xffff {
		acc = acc>>16 + acc&0xffff
	}
	return uint16(acc)
}
