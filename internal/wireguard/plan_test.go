package wireguard

import (
	"encoding/hex"
	"net/netip"
	"strings"
	"testing"
	"time"

	"golang.zx2c4.com/wireguard/wgctrl/wgtypes"
)

// testKey returns a fixed key whose bytes are all b, for readable golden
// output.
func testKey(b byte) wgtypes.Key {
	var k wgtypes.Key
	for i := range k {
		k[i] = b
	}
	return k
}

func hexOf(k wgtypes.Key) string { return hex.EncodeToString(k[:]) }

func peer(k wgtypes.Key, ep string, keepalive time.Duration, extra ...string) peerState {
	ps := []netip.Prefix{tunnelHost(k)}
	for _, e := range extra {
		ps = append(ps, netip.MustParsePrefix(e))
	}
	s := peerState{AllowedIPs: normalPrefixes(ps), Keepalive: keepalive}
	if ep != "" {
		s.Endpoint = netip.MustParseAddrPort(ep)
	}
	return s
}

func TestPlan(t *testing.T) {
	self, rotated := testKey(1), testKey(2)
	pa, pb, pc := testKey(0xaa), testKey(0xbb), testKey(0xcc)
	base := deviceState{PrivateKey: self, ListenPort: 51820, Peers: map[wgtypes.Key]peerState{
		pa: peer(pa, "198.18.0.1:51820", 0),
		pb: peer(pb, "198.18.0.2:51820", 25*time.Second),
	}}
	with := func(f func(s *deviceState)) deviceState {
		s := base
		s.Peers = map[wgtypes.Key]peerState{}
		for k, v := range base.Peers {
			s.Peers[k] = v
		}
		f(&s)
		return s
	}
	for _, tc := range []struct {
		name      string
		cur, want deviceState
		golden    string // uapiSet of the plan, keys as hex of one byte
	}{
		{name: "nothing differs", cur: base, want: base},
		{name: "listen port 0 leaves the port alone", cur: base, want: with(func(s *deviceState) { s.ListenPort = 0 })},
		{
			name: "new device",
			cur:  deviceState{},
			want: base,
			golden: "private_key=01\nlisten_port=51820\n" +
				"public_key=aa\nendpoint=198.18.0.1:51820\nreplace_allowed_ips=true\nallowed_ip=" + tunnelHost(pa).String() + "\n" +
				"public_key=bb\nendpoint=198.18.0.2:51820\npersistent_keepalive_interval=25\nreplace_allowed_ips=true\nallowed_ip=" + tunnelHost(pb).String() + "\n",
		},
		{
			name:   "key rotated, port changed",
			cur:    base,
			want:   with(func(s *deviceState) { s.PrivateKey, s.ListenPort = rotated, 51821 }),
			golden: "private_key=02\nlisten_port=51821\n",
		},
		{
			name:   "endpoint changed: that peer only, in place",
			cur:    base,
			want:   with(func(s *deviceState) { s.Peers[pa] = peer(pa, "198.18.1.1:51820", 0) }),
			golden: "public_key=aa\nupdate_only=true\nendpoint=198.18.1.1:51820\n",
		},
		{
			name: "endpoint left open keeps the one the peer roamed to",
			cur:  base,
			want: with(func(s *deviceState) { s.Peers[pa] = peer(pa, "", 0) }),
		},
		{
			name:   "peer added, peer removed",
			cur:    base,
			want:   with(func(s *deviceState) { delete(s.Peers, pb); s.Peers[pc] = peer(pc, "[2001:db8::3]:51820", 0) }),
			golden: "public_key=bb\nremove=true\npublic_key=cc\nendpoint=[2001:db8::3]:51820\nreplace_allowed_ips=true\nallowed_ip=" + tunnelHost(pc).String() + "\n",
		},
		{
			name: "allowed IPs and keepalive changed",
			cur:  base,
			want: with(func(s *deviceState) { s.Peers[pb] = peer(pb, "198.18.0.2:51820", 0, "10.9.0.0/16") }),
			golden: "public_key=bb\nupdate_only=true\npersistent_keepalive_interval=0\nreplace_allowed_ips=true\n" +
				"allowed_ip=10.9.0.0/16\nallowed_ip=" + tunnelHost(pb).String() + "\n",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, changed := plan(tc.cur, tc.want)
			got := uapiSet(c)
			for _, k := range []wgtypes.Key{self, rotated, pa, pb, pc} {
				got = strings.ReplaceAll(got, hexOf(k), hexOf(k)[:2])
			}
			if got != tc.golden {
				t.Errorf("plan:\n%s\nwant:\n%s", got, tc.golden)
			}
			if changed != (tc.golden != "") {
				t.Errorf("changed = %v", changed)
			}
			// Applying the plan to cur gives want: converging twice changes nothing.
			if _, again := plan(tc.want, tc.want); again {
				t.Error("a converged device still has changes")
			}
		})
	}
}
