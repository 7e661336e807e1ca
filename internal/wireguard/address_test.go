package wireguard

import (
	"crypto/sha256"
	"net/netip"
	"testing"

	"golang.zx2c4.com/wireguard/wgctrl/wgtypes"
)

func TestTunnelPrefixIsTheULAOfTheSeed(t *testing.T) {
	h := sha256.Sum256([]byte(tunnelSeed))
	a := TunnelPrefix.Addr().As16()
	if a[0] != 0xfd || [5]byte(a[1:6]) != [5]byte(h[:5]) || TunnelPrefix.Bits() != 64 || a[6] != 0 || a[7] != 0 {
		t.Fatalf("TunnelPrefix %s is not fd + 40 bits of SHA-256(seed) + subnet 0, /64", TunnelPrefix)
	}
	if !netip.MustParsePrefix("fc00::/7").Contains(TunnelPrefix.Addr()) {
		t.Fatalf("%s is not a unique local address", TunnelPrefix)
	}
}

func TestTunnelAddressIsDerivedFromTheKeyAlone(t *testing.T) {
	seen := map[netip.Addr]bool{}
	for range 100 {
		k, _ := wgtypes.GeneratePrivateKey()
		pub := k.PublicKey()
		a := TunnelAddress(pub)
		if a != TunnelAddress(pub) {
			t.Fatal("not deterministic")
		}
		if !TunnelPrefix.Contains(a) {
			t.Fatalf("%s is outside %s", a, TunnelPrefix)
		}
		if seen[a] {
			t.Fatalf("two keys share %s", a)
		}
		seen[a] = true
	}
	// A fixed key has a fixed address: peers built from other versions
	// must agree (computed independently: Python hashlib).
	k, _ := wgtypes.ParseKey("HIgo9xNzJMWLKASShiTqIybxZ0U3wGLiUeJ1PKf8ykw=")
	if got, want := TunnelAddress(k), netip.MustParseAddr("fd82:756a:3bc9:0:9946:8313:5dcd:688b"); got != want {
		t.Errorf("TunnelAddress(%s) = %s, want %s", k, got, want)
	}
}

func TestOverhead(t *testing.T) {
	for _, tc := range []struct {
		wan  string
		want int
	}{
		{"198.18.0.1", 60},
		{"::ffff:198.18.0.1", 60},
		{"2001:db8::1", 80},
	} {
		if got := Overhead(netip.MustParseAddr(tc.wan)); got != tc.want {
			t.Errorf("Overhead(%s) = %d, want %d", tc.wan, got, tc.want)
		}
	}
}
