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

// A pod's large TCP packet inside VXLAN, cut by split into what the peer's
// device would encrypt, is merged back by nextRun into one packet with a
// tunnel header that describes it, and the kernel would cut that into the
// same segments again.
func TestTCPInVXLANSegmentsMergeBack(t *testing.T) {
	data := payload(4*1000 + 10)
	pkt, h := vxlanTCP(data)
	pkt[90+13] = 0x10 | 0x08 // ACK, PSH
	const offset = 16
	bufs, sizes := buffers(8, 2048)
	n, err := split(pkt, h, bufs, sizes, offset)
	if err != nil || n != 5 {
		t.Fatalf("split: %d segments, %v; want 5", n, err)
	}
	segs := make([][]byte, n)
	for i := range n {
		bufs[i] = bufs[i][:offset+sizes[i]]
		segs[i] = bytes.Clone(bufs[i][offset:])
	}
	j, mh, tails := nextRun(bufs[:n], 0, offset, true)
	if j != n || len(tails) != n-1 {
		t.Fatalf("run of %d packets with %d tails, want %d", j, len(tails), n)
	}
	want := vnetHdr{flags: vnetFlagNeedsCsum | vnetFlagTunnelCsum, gsoType: vnetGSOTCPv4 | vnetGSOTunnelV6,
		hdrLen: 122, gsoSize: 1000, csumStart: 90, csumOffset: 16, outerTH: 40, innerNH: 70}
	if mh != want {
		t.Errorf("header %+v, want %+v", mh, want)
	}
	merged := concat(append([][]byte{bufs[0][offset:]}, tails...)...)
	if len(merged) != len(pkt) || !bytes.Equal(merged[122:], data) {
		t.Fatalf("merged packet of %d bytes, want %d with the original payload", len(merged), len(pkt))
	}
	if merged[90+13] != 0x10|0x08 {
		t.Errorf("merged TCP flags %#x, want ACK|PSH (the last segment's PSH)", merged[90+13])
	}
	// What the kernel does with it: cut it again.
	again, asizes := buffers(8, 2048)
	k, err := split(merged, mh, again, asizes, 0)
	if err != nil || k != n {
		t.Fatalf("split the merged packet: %d, %v", k, err)
	}
	for i := range k {
		if !bytes.Equal(again[i][:asizes[i]], segs[i]) {
			t.Errorf("segment %d differs after merge and split", i)
		}
	}
}

// A segment that ends a run or cannot join one is written alone.
func TestTCPRunsStopWhereTheyMust(t *testing.T) {
	pkt, h := vxlanTCP(payload(3000))
	pkt[90+13] = 0x10 // ACK only
	bufs, sizes := buffers(4, 2048)
	n, err := split(pkt, h, bufs, sizes, 0)
	if err != nil || n != 3 {
		t.Fatal(n, err)
	}
	for i := range n {
		bufs[i] = bufs[i][:sizes[i]]
	}
	bad := bytes.Clone(bufs[1])
	bad[len(bad)-1] ^= 0xff // payload changed, checksums not
	if j, _, _ := nextRun([][]byte{bytes.Clone(bufs[0]), bad, bytes.Clone(bufs[2])}, 0, 0, true); j != 1 {
		t.Errorf("a segment with a wrong TCP checksum joined a run (run of %d)", j)
	}
	gap := [][]byte{bytes.Clone(bufs[0]), bytes.Clone(bufs[2])}
	if _, h, _ := nextRun(gap, 0, 0, true); h.gsoType&vnetGSOTunnel != 0 {
		t.Errorf("segments with a gap in the stream were merged as one TCP stream (GSO type %#x)", h.gsoType)
	}
	cwr := bytes.Clone(bufs[0])
	cwr[90+13] |= 0x80
	setL4Checksum(cwr[70:], 20, 16, protoTCP)
	if _, h, _ := nextRun([][]byte{cwr, bytes.Clone(bufs[1])}, 0, 0, true); h.gsoType&vnetGSOTunnel != 0 {
		t.Errorf("a segment with CWR started a TCP run (GSO type %#x)", h.gsoType)
	}
	if j, h, _ := nextRun([][]byte{bytes.Clone(bufs[0]), bytes.Clone(bufs[1])}, 0, 0, false); j != 2 || h.gsoType != vnetGSOUDPL4 {
		t.Errorf("without the injector: run of %d as GSO type %#x, want 2 datagrams merged as UDP", j, h.gsoType)
	}
}

// FuzzNextRun: decrypted packets carry frames that pods in other clusters
// made; whatever they hold, nextRun never panics, and a run it merges
// spans at least two packets.
func FuzzNextRun(f *testing.F) {
	pkt, h := vxlanTCP(payload(2500))
	pkt[90+13] = 0x10
	bufs, sizes := buffers(3, 2048)
	n, _ := split(pkt, h, bufs, sizes, 0)
	f.Add(bufs[0][:sizes[0]], bufs[1][:sizes[1]], n == 3)
	f.Add(datagram(1, 1000, 1), datagram(1, 900, 2), false)
	f.Fuzz(func(t *testing.T, a, b []byte, tunnel bool) {
		j, h, tails := nextRun([][]byte{a, b}, 0, 0, tunnel)
		if j < 1 || j > 2 || (j == 2) != (h.gsoType != vnetGSONone) || len(tails) != j-1 {
			t.Fatalf("run of %d, header %+v, %d tails", j, h, len(tails))
		}
	})
}
