package wireguard

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"net/netip"
	"testing"

	"switchboard/internal/netnstest"
)

func TestInteropWithWireGuardGo(t *testing.T) {
	env := netnstest.NewPrefixed(t, "sbwg")
	a, b := newGateway(t, env, "a"), newGateway(t, env, "b")
	link(t, a, b, 10)
	ref := startWireGuardGo(t, b.ns)
	ref.set(t, a.pub(t), netip.AddrPortFrom(a.wan["b"], testPort))
	c := a.config(t)
	c.Peers = []Peer{{PublicKey: ref.pub(t), Endpoint: netip.AddrPortFrom(b.wan["a"], testPort).String()}}
	if err := a.eng.Set(t.Context(), c); err != nil {
		t.Fatal(err)
	}
	a.reaches(t, TunnelAddress(ref.pub(t)))
	if got := b.ns.Ping(t, a.addr(t), 3, "2"); got == 0 {
		t.Fatalf("wireguard-go's side: no answer from %s", a.addr(t))
	}
	out, err := b.ns.Exec("wg", "show", ref.name, "latest-handshakes")
	if err != nil || !bytes.Contains([]byte(out), []byte(a.pub(t).String())) {
		t.Errorf("wg show on wireguard-go's side: %v: %s", err, out)
	}
}

// A transfer through the tunnel: its payload is on the tunnel interface
// and nowhere on the WAN link, which carries the transfer's bytes as
// WireGuard. Positive controls: the same transfer over the bare WAN shows
// the payload in the WAN capture, and the tunnel's capture shows it too.
func TestWANCarriesNoPlaintext(t *testing.T) {
	a, b := pair(t)
	a.reaches(t, b.addr(t))
	marker := make([]byte, 8)
	if _, err := rand.Read(marker); err != nil {
		t.Fatal(err)
	}
	needle := []byte("SWITCHBOARD-PLAINTEXT-" + hex.EncodeToString(marker))
	payload := bytes.Repeat(append(needle, ' '), (1<<20)/(len(needle)+1)) // 1 MiB

	count := func(frames [][]byte) (hits, total int) {
		for _, f := range frames {
			total += len(f)
			if bytes.Contains(f, needle) {
				hits++
			}
		}
		return hits, total
	}
	bare := a.ns.CaptureFrames(t, "sbwgb")
	netnstest.Transfer(t, a.ns, b.ns, b.wan["a"], payload)
	if h, _ := count(bare.Stop()); h == 0 {
		t.Fatal("the WAN capture did not see the payload sent in plaintext over the bare WAN: it proves nothing")
	}

	inner, wan := a.ns.CaptureFrames(t, testDev), a.ns.CaptureFrames(t, "sbwgb")
	netnstest.Transfer(t, a.ns, b.ns, b.addr(t), payload)
	innerFrames, wanFrames := inner.Stop(), wan.Stop()
	ih, itotal := count(innerFrames)
	wh, wtotal := count(wanFrames)
	t.Logf("tunnel interface: %d frames, %d bytes, %d with the payload; WAN: %d frames, %d bytes, %d with the payload",
		len(innerFrames), itotal, ih, len(wanFrames), wtotal, wh)
	if ih == 0 {
		t.Fatal("the capture on the tunnel interface saw no payload: the capture proves nothing")
	}
	if wtotal < len(payload)/2 {
		// A capture may drop some frames on a loaded machine; half the
		// transfer's bytes prove it was looking at the transfer.
		t.Fatalf("the WAN capture saw %d bytes, less than half the %d-byte transfer: it did not see the transfer", wtotal, len(payload))
	}
	if wh != 0 {
		t.Fatalf("%d frames on the WAN carry the payload in plaintext", wh)
	}
}
