package wireguard

import (
	"bytes"
	"encoding/binary"
	"testing"
)

// datagram is a VXLAN-like UDP datagram over IPv6 (from port sport) with a
// payload of n bytes and a correct checksum.
func datagram(sport uint16, n int, fill byte) []byte {
	p := concat(ipv6Header(protoUDP, 1, 2), make([]byte, 8), bytes.Repeat([]byte{fill}, n))
	binary.BigEndian.PutUint16(p[4:], uint16(len(p)-40))
	binary.BigEndian.PutUint16(p[40:], sport)
	binary.BigEndian.PutUint16(p[42:], 4790)
	binary.BigEndian.PutUint16(p[44:], uint16(len(p)-40))
	setL4Checksum(p, 40, 6, protoUDP)
	return p
}

// Datagrams merged by mergeHeaders and cut again by split, as the kernel
// would, come out as they went in.
func TestMergedDatagramsSplitBackToTheOriginals(t *testing.T) {
	orig := [][]byte{datagram(51000, 1000, 1), datagram(51000, 1000, 2), datagram(51000, 400, 3)}
	bufs := make([][]byte, len(orig))
	for i, o := range orig {
		bufs[i] = bytes.Clone(o)
	}
	first := bufs[0]
	th, ok := udpHeaderAt(first)
	if !ok || th != 40 || !checksumOK(first, th, protoUDP) {
		t.Fatalf("the first datagram is not taken as UDP with a good checksum (th %d, %v)", th, ok)
	}
	n := 1000
	for _, next := range bufs[1:] {
		if !coalescible(first, next, th, n, 1000) {
			t.Fatalf("datagram after %d bytes not coalescible", n)
		}
		n += len(next) - 48
	}
	h := mergeHeaders(first, th, n, 1000)
	merged := concat(first, bufs[1][48:], bufs[2][48:])
	if got := int(binary.BigEndian.Uint16(merged[4:])); got != len(merged)-40 {
		t.Errorf("merged IPv6 payload length %d, want %d", got, len(merged)-40)
	}
	out, sizes := buffers(4, 2048)
	k, err := split(merged, h, out, sizes, 0)
	if err != nil || k != 3 {
		t.Fatalf("split the merged packet: %d datagrams, %v; want 3", k, err)
	}
	for i := range k {
		if !bytes.Equal(out[i][:sizes[i]], orig[i]) {
			t.Errorf("datagram %d differs after merge and split", i)
		}
	}
}

func TestCoalescibleRefuses(t *testing.T) {
	first := datagram(51000, 1000, 1)
	for name, c := range map[string]struct {
		next       []byte
		n, gsoSize int
	}{
		"other source port":     {datagram(51001, 1000, 2), 1000, 1000},
		"larger than the first": {datagram(51000, 1001, 2), 1000, 1000},
		"after a short one":     {datagram(51000, 1000, 2), 1500, 1000},
		"beyond 64 KiB":         {datagram(51000, 1000, 2), 65000, 1000},
		"bad checksum": {func() []byte {
			p := datagram(51000, 1000, 2)
			p[100] ^= 0xff
			return p
		}(), 1000, 1000},
		"no checksum": {func() []byte {
			p := datagram(51000, 1000, 2)
			p[46], p[47] = 0, 0
			return p
		}(), 1000, 1000},
		"other hop limit": {func() []byte {
			p := datagram(51000, 1000, 2)
			p[7] = 3
			setL4Checksum(p, 40, 6, protoUDP)
			return p
		}(), 1000, 1000},
		"not UDP": {concat(ipv6Header(protoTCP, 1, 2), make([]byte, 1008)), 1000, 1000},
	} {
		if coalescible(first, c.next, 40, c.n, c.gsoSize) {
			t.Errorf("%s: coalescible", name)
		}
	}
	frag := concat(ipv4Header(protoUDP, 1), make([]byte, 108))
	binary.BigEndian.PutUint16(frag[2:], uint16(len(frag)))
	binary.BigEndian.PutUint16(frag[6:], 0x2000) // more fragments
	if _, ok := udpHeaderAt(frag); ok {
		t.Error("an IPv4 fragment was taken as a whole datagram")
	}
}
