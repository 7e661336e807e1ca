package wireguard

import (
	"bytes"
	"encoding/binary"
	"errors"
	"testing"
)

// The tests build large packets as the kernel hands them to the TUN device
// and check every segment with checksums computed here word by word, not
// with the code under test.

// onesSum is the plain RFC 1071 ones' complement sum of b.
func onesSum(b []byte, acc uint32) uint32 {
	for i := 0; i+1 < len(b); i += 2 {
		acc += uint32(b[i])<<8 | uint32(b[i+1])
	}
	if len(b)%2 == 1 {
		acc += uint32(b[len(b)-1]) << 8
	}
	for acc > 0xffff {
		acc = acc>>16 + acc&0xffff
	}
	return acc
}

// l4Valid reports whether the TCP or UDP checksum of the transport header at
// th of the IP packet ip is right.
func l4Valid(ip []byte, th int, proto uint8) bool {
	var acc uint32
	if ip[0]>>4 == 6 {
		acc = onesSum(ip[8:40], 0)
	} else {
		acc = onesSum(ip[12:20], 0)
	}
	acc = onesSum([]byte{0, proto, byte((len(ip) - th) >> 8), byte(len(ip) - th)}, acc)
	return onesSum(ip[th:], acc) == 0xffff
}

func ipv4Header(proto uint8, id uint16) []byte {
	h := make([]byte, 20)
	h[0], h[8], h[9] = 0x45, 64, proto
	binary.BigEndian.PutUint16(h[4:], id)
	copy(h[12:], []byte{10, 1, 0, 1, 10, 1, 0, 2})
	return h
}

func ipv6Header(proto uint8, lastSrc, lastDst byte) []byte {
	h := make([]byte, 40)
	h[0], h[6], h[7] = 0x60, proto, 64
	h[8], h[9], h[23] = 0xfd, 0x82, lastSrc
	h[24], h[25], h[39] = 0xfd, 0x82, lastDst
	return h
}

// tcpHeader with 12 bytes of options (a data offset of 8 words).
func tcpHeader(seq uint32, flags byte) []byte {
	h := make([]byte, 32)
	binary.BigEndian.PutUint16(h, 40000)
	binary.BigEndian.PutUint16(h[2:], 5201)
	binary.BigEndian.PutUint32(h[4:], seq)
	h[12], h[13] = 8<<4, flags
	h[20], h[21] = 1, 1 // NOP, NOP, then a timestamp option
	h[22], h[23] = 8, 10
	return h
}

func payload(n int) []byte {
	p := make([]byte, n)
	for i := range p {
		p[i] = byte(i*7 + i/251)
	}
	return p
}

func concat(parts ...[]byte) []byte { return bytes.Join(parts, nil) }

// vxlanTCP is a pod's large TCP packet (IPv4) inside the edge's VXLAN over
// IPv6, as the kernel hands it with the tunnel offload.
func vxlanTCP(data []byte) ([]byte, vnetHdr) {
	eth := make([]byte, 14)
	eth[12] = 0x08
	vx := []byte{0x08, 0, 0, 0, 0, 0, 42, 0}
	pkt := concat(ipv6Header(protoUDP, 1, 2), make([]byte, 8), vx, eth, ipv4Header(protoTCP, 0x1234), tcpHeader(1000, 0x80|0x10|0x08|0x01), data)
	binary.BigEndian.PutUint16(pkt[40:], 51000)
	binary.BigEndian.PutUint16(pkt[42:], 4790)
	return pkt, vnetHdr{
		flags: vnetFlagNeedsCsum | vnetFlagTunnelCsum, gsoType: vnetGSOTCPv4 | vnetGSOTunnelV6, gsoSize: 1000,
		csumStart: 90, csumOffset: 16, outerTH: 40, innerNH: 70,
	}
}

func buffers(n, size int) ([][]byte, []int) {
	bufs := make([][]byte, n)
	for i := range bufs {
		bufs[i] = make([]byte, size)
	}
	return bufs, make([]int, n)
}

func TestSplitVXLANTCP(t *testing.T) {
	data := payload(3*1000 + 123)
	pkt, h := vxlanTCP(data)
	const offset = 16
	bufs, sizes := buffers(8, 2048)
	n, err := split(pkt, h, bufs, sizes, offset)
	if err != nil {
		t.Fatal(err)
	}
	if n != 4 {
		t.Fatalf("%d segments, want 4", n)
	}
	var got []byte
	be := binary.BigEndian
	for i := range n {
		seg := bufs[i][offset : offset+sizes[i]]
		inner := seg[70:]
		if l := int(be.Uint16(seg[4:])); l != len(seg)-40 {
			t.Errorf("segment %d: outer IPv6 payload length %d, want %d", i, l, len(seg)-40)
		}
		if l := int(be.Uint16(seg[44:])); l != len(seg)-40 {
			t.Errorf("segment %d: outer UDP length %d, want %d", i, l, len(seg)-40)
		}
		if !l4Valid(seg, 40, protoUDP) {
			t.Errorf("segment %d: outer UDP checksum wrong", i)
		}
		if l := int(be.Uint16(inner[2:])); l != len(inner) {
			t.Errorf("segment %d: inner IPv4 total length %d, want %d", i, l, len(inner))
		}
		if onesSum(inner[:20], 0) != 0xffff {
			t.Errorf("segment %d: inner IPv4 header checksum wrong", i)
		}
		if id := be.Uint16(inner[4:]); id != 0x1234+uint16(i) {
			t.Errorf("segment %d: IPv4 id %#x, want %#x", i, id, 0x1234+i)
		}
		if !l4Valid(inner, 20, protoTCP) {
			t.Errorf("segment %d: inner TCP checksum wrong", i)
		}
		if seq := be.Uint32(inner[24:]); seq != 1000+uint32(i*1000) {
			t.Errorf("segment %d: sequence number %d, want %d", i, seq, 1000+i*1000)
		}
		flags, last := inner[33], i == n-1
		if (flags&0x01 != 0) != last || (flags&0x08 != 0) != last {
			t.Errorf("segment %d: flags %#x: FIN and PSH must be on the last segment only", i, flags)
		}
		if (flags&0x80 != 0) != (i == 0) {
			t.Errorf("segment %d: flags %#x: CWR must be on the first segment only", i, flags)
		}
		if !bytes.Equal(seg[:4], pkt[:4]) || !bytes.Equal(seg[6:40], pkt[6:40]) || !bytes.Equal(seg[48:70], pkt[48:70]) {
			t.Errorf("segment %d: headers other than lengths and checksums changed", i)
		}
		got = append(got, inner[52:]...)
	}
	if !bytes.Equal(got, data) {
		t.Errorf("the segments' payloads joined differ from the original (%d bytes, want %d)", len(got), len(data))
	}
}

func TestSplitPlainTCPv6AndUDP(t *testing.T) {
	data := payload(2500)
	tcp := concat(ipv6Header(protoTCP, 1, 2), tcpHeader(7, 0x10), data)
	bufs, sizes := buffers(4, 2048)
	n, err := split(tcp, vnetHdr{flags: vnetFlagNeedsCsum, gsoType: vnetGSOTCPv6, gsoSize: 1200, csumStart: 40, csumOffset: 16}, bufs, sizes, 0)
	if err != nil || n != 3 {
		t.Fatalf("TCPv6: %d segments, %v; want 3", n, err)
	}
	for i := range n {
		seg := bufs[i][:sizes[i]]
		if !l4Valid(seg, 40, protoTCP) || int(binary.BigEndian.Uint16(seg[4:])) != len(seg)-40 {
			t.Errorf("TCPv6 segment %d: checksum or length wrong", i)
		}
	}

	udp := concat(ipv4Header(protoUDP, 9), make([]byte, 8), data)
	n, err = split(udp, vnetHdr{flags: vnetFlagNeedsCsum, gsoType: vnetGSOUDPL4, gsoSize: 1000, csumStart: 20, csumOffset: 6}, bufs, sizes, 0)
	if err != nil || n != 3 {
		t.Fatalf("UDP: %d segments, %v; want 3", n, err)
	}
	for i := range n {
		seg := bufs[i][:sizes[i]]
		if !l4Valid(seg, 20, protoUDP) || int(binary.BigEndian.Uint16(seg[24:])) != len(seg)-20 {
			t.Errorf("UDP segment %d: checksum or length wrong", i)
		}
	}
}

func TestSplitCompletesChecksumOfSmallPacket(t *testing.T) {
	pkt := concat(ipv4Header(protoUDP, 1), make([]byte, 8), payload(99))
	binary.BigEndian.PutUint16(pkt[24:], uint16(len(pkt)-20))
	// The kernel stores the pseudo header's sum and leaves the rest.
	pseudo := onesSum(pkt[12:20], 0)
	pseudo = onesSum([]byte{0, protoUDP, byte((len(pkt) - 20) >> 8), byte(len(pkt) - 20)}, pseudo)
	binary.BigEndian.PutUint16(pkt[26:], uint16(pseudo))
	bufs, sizes := buffers(1, 2048)
	n, err := split(pkt, vnetHdr{flags: vnetFlagNeedsCsum, csumStart: 20, csumOffset: 6}, bufs, sizes, 4)
	if err != nil || n != 1 || sizes[0] != len(pkt) {
		t.Fatalf("got %d packets of %d bytes, %v; want 1 of %d", n, sizes[0], err, len(pkt))
	}
	if !l4Valid(bufs[0][4:4+len(pkt)], 20, protoUDP) {
		t.Error("checksum not completed")
	}
}

func TestSplitRefusesWhatItCannotCut(t *testing.T) {
	pkt, h := vxlanTCP(payload(5000))
	bufs, sizes := buffers(8, 2048)
	bad := func(mod func(*vnetHdr)) vnetHdr { c := h; mod(&c); return c }
	for name, c := range map[string]vnetHdr{
		"segment size 0":     bad(func(h *vnetHdr) { h.gsoSize = 0 }),
		"unknown GSO type":   bad(func(h *vnetHdr) { h.gsoType = 3 }),
		"inner before outer": bad(func(h *vnetHdr) { h.innerNH = 30 }),
		"outer UDP too soon": bad(func(h *vnetHdr) { h.outerTH = 10 }),
		"transport too soon": bad(func(h *vnetHdr) { h.csumStart = 80 }),
		"past the end":       bad(func(h *vnetHdr) { h.csumStart = 6000 }),
	} {
		if _, err := split(pkt, c, bufs, sizes, 0); err == nil {
			t.Errorf("%s: split accepted it", name)
		}
	}
	if _, err := split(pkt, h, bufs[:2], sizes, 0); !errors.Is(err, errTooManySegments) {
		t.Errorf("5 segments into 2 buffers: %v, want errTooManySegments", err)
	}
}

func TestVnetHdrRoundTrip(t *testing.T) {
	h := vnetHdr{flags: 9, gsoType: 0x21, gsoSize: 1300, csumStart: 90, csumOffset: 16, outerTH: 40, innerNH: 76}
	b := make([]byte, vnetTunnelHdrLen)
	h.encode(b)
	got, err := parseVnetHdr(b)
	if err != nil || got != h {
		t.Fatalf("got %+v, %v; want %+v", got, err, h)
	}
	if _, err := parseVnetHdr(b[:10]); err == nil {
		t.Error("a 10-byte header was accepted")
	}
}

// FuzzSplit: whatever the header says, split returns an error or segments;
// it never panics.
func FuzzSplit(f *testing.F) {
	pkt, h := vxlanTCP(payload(3000))
	b := make([]byte, vnetTunnelHdrLen)
	h.encode(b)
	f.Add(b, pkt)
	f.Fuzz(func(t *testing.T, hdr, pkt []byte) {
		h, err := parseVnetHdr(hdr)
		if err != nil {
			return
		}
		bufs, sizes := buffers(64, 1<<16)
		_, _ = split(pkt, h, bufs, sizes, 0)
	})
}
