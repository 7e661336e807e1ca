package netcheck

import (
	"bytes"
	"context"
	"net"
	"net/netip"
	"testing"
	"time"

	"switchboard/internal/netnstest"
)

func TestVXLANDatagram(t *testing.T) {
	f := ProbeFrame(net.HardwareAddr{2, 1, 2, 3, 4, 5}, "m1")
	d := VXLANDatagram(0xabcdef, f)
	want := []byte{0x08, 0, 0, 0, 0xab, 0xcd, 0xef, 0}
	if !bytes.Equal(d[:8], want) || !bytes.Equal(d[8:], f) {
		t.Fatalf("VXLAN header % x, want % x", d[:8], want)
	}
	if !bytes.Equal(f[:6], []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}) || f[12] != 0x88 || f[13] != 0xb5 {
		t.Errorf("probe frame % x: want broadcast, EtherType 88b5", f[:14])
	}
}

func TestProbeMarker(t *testing.T) {
	f := ProbeFrame(net.HardwareAddr{2, 1, 2, 3, 4, 5}, "m1")
	padded := append(append([]byte(nil), f...), make([]byte, 20)...)
	for _, tc := range []struct {
		frame []byte
		want  string
		ok    bool
	}{
		{f, "m1", true},
		{padded, "m1", true},
		{f[:len(f)-1], "", false}, // cut before its end
		{append(append([]byte(nil), f[:12]...), 0x08, 0x00), "", false},
	} {
		if got, ok := probeMarker(tc.frame); got != tc.want || ok != tc.ok {
			t.Errorf("probeMarker(% x) = %q, %v; want %q, %v", tc.frame, got, ok, tc.want, tc.ok)
		}
	}
}

// Probe frames sent raw on one end of a veth are counted on the other end,
// and not on the sending end.
func TestSendAndCountFrames(t *testing.T) {
	env := netnstest.NewPrefixed(t, "sbfw")
	a, b := env.NS("a"), env.NS("b")
	netnstest.Veth(t, netnstest.End{NS: a, Name: "p0"}, netnstest.End{NS: b, Name: "p0"})
	ca, cb := listenIn(t, a, "p0"), listenIn(t, b, "p0")
	if err := a.Do(func() error {
		return SendFrames(context.Background(), "p0", FrameSpec{Marker: "m"}, 5, time.Millisecond)
	}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for cb.Count("m") < 5 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if got := cb.Count("m"); got != 5 {
		t.Errorf("receiver counted %d of 5", got)
	}
	if got := ca.Count("m"); got != 0 {
		t.Errorf("sender counted %d of its own frames, want 0", got)
	}
	if got := cb.Count("other"); got != 0 {
		t.Errorf("marker other counted %d, want 0", got)
	}
	if err := SendVXLAN(context.Background(), netip.Addr{}, netip.MustParseAddrPort("127.0.0.1:9"), MaxVNI+1, "m", 1, 0); err == nil {
		t.Error("SendVXLAN with a VNI over 24 bits: no error")
	}
}
