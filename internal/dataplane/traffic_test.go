package dataplane_test

import (
	"net"
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/vishvananda/netlink"

	"switchboard/internal/netnstest"
)

// TestTraffic proves with real packets that red pods on different nodes
// reach each other (IPv4 and IPv6), blue pods too, and that nothing of blue
// reaches red: not a ping, not an ARP request, not a broadcast.
func TestTraffic(t *testing.T) {
	c := newCluster(t)
	redA, redB, blueA, blueB := c.fourPods(t)
	red2A := c.addPod(t, c.a, "red2", red, "10.100.0.13/24", "fd00:100::13/64")
	c.program(t)

	t.Run("red reaches red across nodes", func(t *testing.T) {
		for _, pair := range [][2]*pod{{redA, redB}, {redB, redA}, {red2A, redB}} {
			for _, pfx := range pair[1].spec.IPs {
				if got := pair[0].ns.Ping(t, pfx.Addr(), 3, "2"); got == 0 {
					t.Errorf("ping %s -> %s (%s): %d of 3 answered, want some", pair[0].ns.Name, pair[1].ns.Name, pfx.Addr(), got)
				}
			}
		}
	})
	t.Run("blue reaches blue across nodes", func(t *testing.T) {
		if got := blueA.ns.Ping(t, blueB.ip(), 3, "2"); got == 0 {
			t.Errorf("ping blue a -> blue b: %d of 3 answered, want some", got)
		}
	})
	t.Run("blue reaches no red pod, not even by ARP", func(t *testing.T) {
		var caps []*netnstest.Capture
		for _, p := range []*pod{redA, redB, red2A} {
			caps = append(caps, p.ns.CaptureARP(t, "net1"))
		}
		own := blueA.ns.CaptureARP(t, "net1")
		for _, src := range []*pod{blueA, blueB} {
			for _, dst := range []*pod{redA, redB} {
				if got := src.ns.Ping(t, dst.ip(), 2, "1"); got != 0 {
					t.Errorf("ping %s -> %s (%s): %d replies, want none", src.ns.Name, dst.ns.Name, dst.ip(), got)
				}
			}
		}
		for i, cp := range caps {
			for _, a := range cp.Stop() {
				if a.SenderIP == blueA.ip() || a.SenderIP == blueB.ip() {
					t.Errorf("red pod %d received blue's ARP %+v", i, a)
				}
			}
		}
		asked := slices.ContainsFunc(own.Stop(), func(a netnstest.ARP) bool {
			return a.Op == 1 && a.SenderIP == blueA.ip() && a.TargetIP == redB.ip()
		})
		if !asked {
			t.Error("blue a never sent an ARP request for red b: the test proves nothing")
		}
		if st := neighState(t, blueA, redB.ip()); st&(netlink.NUD_INCOMPLETE|netlink.NUD_FAILED) == 0 {
			t.Errorf("blue a's neighbour entry for %s has state %#x, want INCOMPLETE or FAILED", redB.ip(), st)
		}
	})
	t.Run("broadcast reaches red members only", func(t *testing.T) {
		const port = 4789 + 1000
		listeners := map[*pod]bool{redB: true, red2A: true, blueA: false, blueB: false}
		conns := map[*pod]*net.UDPConn{}
		for p := range listeners {
			conns[p] = p.ns.ListenUDP(t, port)
		}
		// check waits (generously) for msg at every pod of to, then gives
		// the others but the sender (which hears its own broadcast) a
		// moment more: by then the broadcast has gone wherever it goes.
		check := func(msg string, from *pod, to ...*pod) {
			t.Helper()
			for _, p := range to {
				if got := netnstest.ReceivedAll(conns[p], 10*time.Second, msg); !slices.Equal(got, []string{msg}) {
					t.Errorf("%s received %q, want one %q", p.ns.Name, got, msg)
				}
			}
			for p := range listeners {
				if p == from || slices.Contains(to, p) {
					continue
				}
				if got := netnstest.Received(conns[p], 500*time.Millisecond); len(got) > 0 {
					t.Errorf("%s, not a member, received %q", p.ns.Name, got)
				}
			}
		}
		redA.ns.SendUDP(t, netip.MustParseAddrPort("10.100.0.255:5789"), "to red")
		check("to red", redA, redB, red2A)
		blueB.ns.SendUDP(t, netip.MustParseAddrPort("10.100.0.255:5789"), "to blue")
		check("to blue", blueB, blueA)
	})
}
