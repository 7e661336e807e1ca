package edge_test

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"testing"

	"switchboard/internal/netnstest"
)

// TestWireGuardTraffic: with the edges tunnelling inside WireGuard, pods
// of the same network reach each other across the sites, a bulk TCP
// transfer at the network's full MTU arrives whole (the tunnel's overhead
// fits the MTU the agent gives inter-cluster networks), the WAN carries
// none of it in plaintext while the pod's own interface does (the capture's
// positive control), and nothing on the WAN is VXLAN.
func TestWireGuardTraffic(t *testing.T) {
	w := newWireGuardWorld(t)
	a1, a2, b1, b2 := w.a.pods[1], w.a.pods[2], w.b.pods[1], w.b.pods[2]
	for _, pair := range [][2]*pod{{a1, b1}, {b1, a1}, {a2, b2}, {b2, a2}} {
		if got := pair[0].ns.Ping(t, pair[1].ip, 3, "2"); got == 0 {
			t.Errorf("ping %s -> %s (%s): %d of 3 answered, want some", pair[0].ns.Name, pair[1].ns.Name, pair[1].ip, got)
		}
	}
	for _, pair := range [][2]*pod{{a2, b1}, {b2, a1}} {
		if got := pair[0].ns.Ping(t, pair[1].ip, 2, "1"); got != 0 {
			t.Errorf("network 2 pod %s reached network 1 pod %s: %d replies", pair[0].ns.Name, pair[1].ns.Name, got)
		}
	}

	marker := make([]byte, 8)
	if _, err := rand.Read(marker); err != nil {
		t.Fatal(err)
	}
	needle := []byte("SWITCHBOARD-PLAINTEXT-" + hex.EncodeToString(marker))
	payload := bytes.Repeat(append(needle, ' '), (2<<20)/(len(needle)+1))
	inner, wan := a1.ns.CaptureFrames(t, "net1"), w.a.gw.CaptureFrames(t, "wan0")
	netnstest.Transfer(t, a1.ns, b1.ns, b1.ip, payload)
	innerFrames, wanFrames := inner.Stop(), wan.Stop()
	hits := func(frames [][]byte) (n, bytesSeen, vxlan int) {
		for _, f := range frames {
			bytesSeen += len(f)
			if bytes.Contains(f, needle) {
				n++
			}
			// Ethernet + IPv4 (no options) + UDP to 4789 or 4790.
			if len(f) >= 38 && f[12] == 0x08 && f[13] == 0 && f[23] == 17 {
				if port := int(f[36])<<8 | int(f[37]); port == 4789 || port == 4790 {
					vxlan++
				}
			}
		}
		return
	}
	ih, _, _ := hits(innerFrames)
	wh, wbytes, wvx := hits(wanFrames)
	t.Logf("pod interface: %d frames with the payload; WAN: %d frames, %d bytes, %d with the payload, %d VXLAN", ih, len(wanFrames), wbytes, wh, wvx)
	switch {
	case ih == 0:
		t.Fatal("the capture on the pod's interface saw no payload: the captures prove nothing")
	case wbytes < len(payload)/2:
		// A capture may drop some frames on a loaded machine; half the
		// transfer's bytes prove it was looking at the transfer.
		t.Fatalf("the WAN capture saw %d bytes, less than half the %d-byte transfer: it missed the transfer", wbytes, len(payload))
	case wh != 0:
		t.Errorf("%d frames on the WAN carry the payload in plaintext", wh)
	}
	if wvx != 0 {
		t.Errorf("%d VXLAN datagrams on the WAN: the links must cross it inside WireGuard only", wvx)
	}
}
