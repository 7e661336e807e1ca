package netcheck

import (
	"bytes"
	"context"
	"encoding/binary"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"switchboard/internal/netnstest"
)

var (
	testMAC   = net.HardwareAddr{0x02, 0x11, 0x22, 0x33, 0x44, 0x55}
	testOther = net.HardwareAddr{0x02, 0xaa, 0xbb, 0xcc, 0xdd, 0xee}
)

// Each kind of frame, read back field by field (by hand: the module has no
// packet-parsing dependency), carries its marker where probeMarker finds it.
func TestFrameKinds(t *testing.T) {
	from := Sender{MAC: testMAC, Addrs: []netip.Addr{
		netip.MustParseAddr("fd00:73::5"), netip.MustParseAddr("10.73.0.5"), netip.MustParseAddr("fe80::11:22ff:fe33:4455"),
	}}
	for _, tc := range []struct {
		spec  FrameSpec
		check func(t *testing.T, f []byte)
	}{
		{FrameSpec{Marker: "b1"}, func(t *testing.T, f []byte) {
			wantEth(t, f, broadcastMAC, testMAC, ProbeEtherType)
		}},
		{FrameSpec{Kind: KindARP, Marker: "a1", Target: netip.MustParseAddr("10.73.0.9")}, func(t *testing.T, f []byte) {
			wantEth(t, f, broadcastMAC, testMAC, 0x0806)
			a := readARP(t, f)
			if a.op != 1 || !bytes.Equal(a.sha, testMAC) || a.spa != netip.MustParseAddr("10.73.0.5") ||
				!bytes.Equal(a.tha, make([]byte, 6)) || a.tpa != netip.MustParseAddr("10.73.0.9") {
				t.Errorf("ARP %+v: want a request from %s 10.73.0.5 for 10.73.0.9", a, testMAC)
			}
		}},
		{FrameSpec{Kind: KindARP, Marker: "a2"}, func(t *testing.T, f []byte) {
			if a := readARP(t, f); a.tpa != DefaultARPTarget {
				t.Errorf("ARP without a target asks for %s, want %s", a.tpa, DefaultARPTarget)
			}
		}},
		{FrameSpec{Kind: KindND, Marker: "n1", Target: netip.MustParseAddr("fd00:73::1:abcd")}, func(t *testing.T, f []byte) {
			wantEth(t, f, net.HardwareAddr{0x33, 0x33, 0xff, 0x01, 0xab, 0xcd}, testMAC, 0x86DD)
			ns := readNS(t, f)
			if ns.src != netip.MustParseAddr("fe80::11:22ff:fe33:4455") || ns.dst != netip.MustParseAddr("ff02::1:ff01:abcd") ||
				ns.target != netip.MustParseAddr("fd00:73::1:abcd") || !bytes.Equal(ns.options[1], testMAC) {
				t.Errorf("NS %+v: want from the link-local address to ff02::1:ff01:abcd for fd00:73::1:abcd with option 1 = %s", ns, testMAC)
			}
			if !bytes.HasPrefix(ns.options[ndMarkerOption], []byte(probeMagic+"n1\n")) {
				t.Errorf("NS option %d = %q, want the probe magic and marker", ndMarkerOption, ns.options[ndMarkerOption])
			}
		}},
		{FrameSpec{Kind: KindSpoof, Marker: "s1", SrcMAC: testOther, DstMAC: testMAC}, func(t *testing.T, f []byte) {
			wantEth(t, f, testMAC, testOther, ProbeEtherType)
		}},
		{FrameSpec{Kind: KindSpoof, Marker: "s2", DstMAC: testOther}, func(t *testing.T, f []byte) {
			wantEth(t, f, testOther, testMAC, ProbeEtherType) // source: the sender's own MAC
		}},
	} {
		f, err := tc.spec.Frame(from)
		if err != nil {
			t.Errorf("%+v: %v", tc.spec, err)
			continue
		}
		tc.check(t, f)
		if m, ok := probeMarker(f); !ok || m != tc.spec.Marker {
			t.Errorf("%s frame % x: marker %q, %v; want %q", tc.spec.Kind, f, m, ok, tc.spec.Marker)
		}
		// A link pads short frames with zeros; the marker survives.
		if m, _ := probeMarker(append(f, make([]byte, 60)...)); m != tc.spec.Marker {
			t.Errorf("%s frame padded: marker %q, want %q", tc.spec.Kind, m, tc.spec.Marker)
		}
	}
}

// A sender without addresses of the family sends as the unspecified
// address: an ARP probe, or an NS as in duplicate address detection, which
// must carry no source link-layer address option (RFC 4861 7.1.1).
func TestFrameUnspecifiedSender(t *testing.T) {
	from := Sender{MAC: testMAC}
	f, err := FrameSpec{Kind: KindARP, Marker: "a"}.Frame(from)
	if err != nil {
		t.Fatal(err)
	}
	if a := readARP(t, f); a.spa != netip.IPv4Unspecified() {
		t.Errorf("ARP sender %s, want 0.0.0.0", a.spa)
	}
	f, err = FrameSpec{Kind: KindND, Marker: "n"}.Frame(from)
	if err != nil {
		t.Fatal(err)
	}
	ns := readNS(t, f)
	if ns.src != netip.IPv6Unspecified() || ns.options[1] != nil || ns.target != DefaultNDTarget {
		t.Errorf("NS %+v: want from ::, no option 1, for %s", ns, DefaultNDTarget)
	}
}

func TestFrameSpecErrors(t *testing.T) {
	from := Sender{MAC: testMAC}
	for _, tc := range []struct {
		spec FrameSpec
		want string
	}{
		{FrameSpec{}, "marker"},
		{FrameSpec{Marker: "a\nb"}, "marker"},
		{FrameSpec{Kind: "flood", Marker: "m"}, "probe kind"},
		{FrameSpec{Kind: KindARP, Marker: "m", Target: netip.MustParseAddr("fd00::1")}, "IPv4"},
		{FrameSpec{Kind: KindND, Marker: "m", Target: netip.MustParseAddr("10.0.0.1")}, "IPv6"},
		{FrameSpec{Kind: KindND, Marker: "m", Target: netip.MustParseAddr("::ffff:10.0.0.1")}, "IPv6"},
		{FrameSpec{Kind: KindSpoof, Marker: "m"}, "destination MAC"},
		{FrameSpec{Kind: KindSpoof, Marker: "m", DstMAC: broadcastMAC}, "unicast"},
	} {
		if _, err := tc.spec.Frame(from); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: error %v, want one about %s", tc.spec, err, tc.want)
		}
	}
	if _, err := (FrameSpec{Marker: "m"}).Frame(Sender{}); err == nil {
		t.Error("a sender without a MAC: no error")
	}
}

func wantEth(t *testing.T, f []byte, dst, src net.HardwareAddr, etherType uint16) {
	t.Helper()
	if len(f) < 14 || !bytes.Equal(f[:6], dst) || !bytes.Equal(f[6:12], src) || binary.BigEndian.Uint16(f[12:]) != etherType {
		t.Errorf("Ethernet header % x: want %s → %s, EtherType %04x", f[:min(len(f), 14)], src, dst, etherType)
	}
}

type arpFields struct {
	op       uint16
	sha, tha net.HardwareAddr
	spa, tpa netip.Addr
}

func readARP(t *testing.T, f []byte) arpFields {
	t.Helper()
	if len(f) < 14+28 || binary.BigEndian.Uint16(f[12:]) != 0x0806 {
		t.Fatalf("not an ARP frame: % x", f)
	}
	p := f[14:]
	if binary.BigEndian.Uint16(p) != 1 || binary.BigEndian.Uint16(p[2:]) != 0x0800 || p[4] != 6 || p[5] != 4 {
		t.Fatalf("ARP header % x: want Ethernet/IPv4", p[:6])
	}
	return arpFields{
		op:  binary.BigEndian.Uint16(p[6:]),
		sha: p[8:14], spa: netip.AddrFrom4([4]byte(p[14:18])),
		tha: p[18:24], tpa: netip.AddrFrom4([4]byte(p[24:28])),
	}
}

type nsFields struct {
	src, dst, target netip.Addr
	options          map[byte][]byte // option type → data after type and length
}

// readNS parses an Ethernet frame holding an IPv6 neighbour solicitation
// and checks what a receiver checks (RFC 4861 7.1.1): hop limit 255,
// ICMPv6 checksum, code 0, option lengths.
func readNS(t *testing.T, f []byte) nsFields {
	t.Helper()
	if len(f) < 14+40 || binary.BigEndian.Uint16(f[12:]) != 0x86DD {
		t.Fatalf("not an IPv6 frame: % x", f)
	}
	ip := f[14:]
	plen := int(binary.BigEndian.Uint16(ip[4:]))
	if ip[0]>>4 != 6 || ip[6] != 58 || ip[7] != 255 || len(ip) != 40+plen {
		t.Fatalf("IPv6 header % x (frame of %d bytes): want version 6, ICMPv6, hop limit 255, payload length %d", ip[:40], len(f), len(ip)-40)
	}
	ns := nsFields{src: netip.AddrFrom16([16]byte(ip[8:24])), dst: netip.AddrFrom16([16]byte(ip[24:40])), options: map[byte][]byte{}}
	msg := ip[40:]
	if len(msg) < 24 || msg[0] != 135 || msg[1] != 0 {
		t.Fatalf("ICMPv6 % x: want a neighbour solicitation, code 0", msg)
	}
	if sum := onesSum(ip[8:40], binary.BigEndian.AppendUint32(nil, uint32(len(msg))), []byte{0, 0, 0, 58}, msg); sum != 0xffff {
		t.Errorf("ICMPv6 checksum: one's complement sum %04x over pseudo-header and message, want ffff", sum)
	}
	ns.target = netip.AddrFrom16([16]byte(msg[8:24]))
	for opts := msg[24:]; len(opts) > 0; {
		if len(opts) < 8 || opts[1] == 0 || int(opts[1])*8 > len(opts) {
			t.Fatalf("ND options % x: a length is 0 or runs past the end", opts)
		}
		n := int(opts[1]) * 8
		ns.options[opts[0]] = opts[2:n]
		opts = opts[n:]
	}
	if o := ns.options[1]; o != nil {
		ns.options[1] = o[:6]
	}
	return ns
}

// onesSum is the 16-bit one's complement sum of the concatenated parts
// (each of even length but the last), written independently of the
// builder's.
func onesSum(parts ...[]byte) uint16 {
	var b []byte
	for _, p := range parts {
		b = append(b, p...)
	}
	if len(b)%2 == 1 {
		b = append(b, 0)
	}
	var s uint64
	for i := 0; i < len(b); i += 2 {
		s += uint64(binary.BigEndian.Uint16(b[i:]))
	}
	for s>>16 != 0 {
		s = s&0xffff + s>>16
	}
	return uint16(s)
}

// Probe frames of every kind sent raw on one end of a veth are counted on
// the other end and not on the sending end, and the receiving kernel takes
// the ARP request and the neighbour solicitation for real ones: each for
// its own address makes it learn the sender's MAC.
func TestSendAndCountKinds(t *testing.T) {
	env := netnstest.NewPrefixed(t, "sbrw")
	a, b := env.NS("a"), env.NS("b")
	netnstest.Veth(t,
		netnstest.End{NS: a, Name: "p0", Addr: netip.MustParsePrefix("10.99.0.1/24")},
		netnstest.End{NS: b, Name: "p0", Addr: netip.MustParsePrefix("10.99.0.2/24")})
	for ns, p := range map[*netnstest.NS]string{a: "fd00:99::1/64", b: "fd00:99::2/64"} {
		h := ns.Handle(t)
		l, err := h.LinkByName("p0")
		if err == nil {
			err = h.AddrAdd(l, &netlink.Addr{IPNet: netnstest.IPNet(netip.MustParsePrefix(p)), Flags: unix.IFA_F_NODAD})
		}
		if err != nil {
			t.Fatalf("address %s in %s: %v", p, ns.Name, err)
		}
	}
	macOf := func(ns *netnstest.NS) net.HardwareAddr {
		l, err := ns.Handle(t).LinkByName("p0")
		if err != nil {
			t.Fatal(err)
		}
		return l.Attrs().HardwareAddr
	}
	aMAC, bMAC := macOf(a), macOf(b)
	ca, cb := listenIn(t, a, "p0"), listenIn(t, b, "p0")
	specs := []FrameSpec{
		{Kind: KindBroadcast, Marker: "b"},
		{Kind: KindARP, Marker: "a", Target: netip.MustParseAddr("10.99.0.2")},
		{Kind: KindND, Marker: "n", Target: netip.MustParseAddr("fd00:99::2")},
		{Kind: KindSpoof, Marker: "s", SrcMAC: testOther, DstMAC: bMAC},
	}
	for _, s := range specs {
		if err := a.Do(func() error { return SendFrames(context.Background(), "p0", s, 5, time.Millisecond) }); err != nil {
			t.Fatal(err)
		}
	}
	for _, s := range specs {
		deadline := time.Now().Add(10 * time.Second)
		for cb.Count(s.Marker) < 5 && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
		}
		if got := cb.Count(s.Marker); got != 5 {
			t.Errorf("%s: receiver counted %d of 5", s.Kind, got)
		}
		if got := ca.Count(s.Marker); got != 0 {
			t.Errorf("%s: sender counted %d of its own frames, want 0", s.Kind, got)
		}
	}
	neigh, err := b.Handle(t).NeighList(0, netlink.FAMILY_ALL)
	if err != nil {
		t.Fatal(err)
	}
	learned := map[string]bool{} // family → b holds a's MAC for an address of a
	for _, n := range neigh {
		ip, _ := netip.AddrFromSlice(n.IP)
		if bytes.Equal(n.HardwareAddr, aMAC) && (ip.Unmap() == netip.MustParseAddr("10.99.0.1") || ip.Is6() && !ip.Is4In6()) {
			learned[map[bool]string{true: "IPv4", false: "IPv6"}[ip.Unmap().Is4()]] = true
		}
	}
	if !learned["IPv4"] || !learned["IPv6"] {
		t.Errorf("the receiver learned a's MAC from the ARP request: %v, from the NS: %v; want both (neighbours %v)", learned["IPv4"], learned["IPv6"], neigh)
	}
}

// listenIn counts probe frames on ifName in ns until the test ends.
func listenIn(t *testing.T, ns *netnstest.NS, ifName string) *FrameCounter {
	t.Helper()
	var c *FrameCounter
	if err := ns.Do(func() (err error) { c, err = ListenFrames(ifName); return err }); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	})
	return c
}
