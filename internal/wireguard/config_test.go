package wireguard

import (
	"context"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"
)

func TestConfigCheckNamesFieldAndFix(t *testing.T) {
	ok := Config{Name: "sbwg0", PrivateKeyFile: "/k", ListenPort: 51820, MTU: 1420, Peers: []Peer{{PublicKey: testKey(0xaa)}}}
	if err := ok.check(); err != nil {
		t.Fatalf("valid config refused: %v", err)
	}
	for _, tc := range []struct {
		mut  func(c *Config)
		want string
	}{
		{func(c *Config) { c.Name = "" }, "name"},
		{func(c *Config) { c.Name = "sixteen-bytes-xx" }, "1 to 15 bytes"},
		{func(c *Config) { c.PrivateKeyFile = "" }, "privateKeyFile"},
		{func(c *Config) { c.ListenPort = 70000 }, "listenPort 70000"},
		{func(c *Config) { c.MTU = 1000 }, "mtu 1000: must be 1280"},
		{func(c *Config) { c.Implementation = "ebpf" }, `implementation "ebpf"`},
		{func(c *Config) { c.Peers = append(c.Peers, c.Peers[0]) }, "peers[1].publicKey"},
		{func(c *Config) { c.Peers[0].PublicKey = testKey(0) }, "peers[0].publicKey: empty"},
		{func(c *Config) { c.Peers[0].PersistentKeepalive = 1500 * time.Millisecond }, "whole seconds"},
		{func(c *Config) { c.Peers[0].AllowedIPs = []netip.Prefix{{}} }, "peers[0].allowedIPs"},
	} {
		c := ok
		c.Peers = append([]Peer(nil), ok.Peers...)
		tc.mut(&c)
		if err := c.check(); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("err = %v, want one containing %q", err, tc.want)
		}
	}
}

func TestResolvePeers(t *testing.T) {
	self, pa := testKey(1), testKey(0xaa)
	got, err := resolve(context.Background(), net.DefaultResolver, []Peer{{
		PublicKey: pa, Endpoint: "198.18.0.1:51820", PersistentKeepalive: 25 * time.Second,
		AllowedIPs: []netip.Prefix{netip.MustParsePrefix("10.9.1.2/16"), tunnelHost(pa)},
	}}, self)
	if err != nil {
		t.Fatal(err)
	}
	want := peer(pa, "198.18.0.1:51820", 25*time.Second, "10.9.0.0/16")
	if g := got[pa]; g.Endpoint != want.Endpoint || g.Keepalive != want.Keepalive || len(g.AllowedIPs) != 2 ||
		g.AllowedIPs[0] != want.AllowedIPs[0] || g.AllowedIPs[1] != want.AllowedIPs[1] {
		t.Fatalf("got %+v, want %+v (masked, deduplicated, tunnel address included)", g, want)
	}
	for _, tc := range []struct {
		peer Peer
		want string
	}{
		{Peer{PublicKey: self.PublicKey()}, "own key"},
		{Peer{PublicKey: pa, Endpoint: "198.18.0.1"}, "host:port"},
		{Peer{PublicKey: pa, Endpoint: "198.18.0.1:0"}, "port must be 1 to 65535"},
		{Peer{PublicKey: pa, Endpoint: "[::1]:99999"}, "port must be 1 to 65535"},
	} {
		if _, err := resolve(context.Background(), net.DefaultResolver, []Peer{tc.peer}, self); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: err = %v, want %q", tc.peer, err, tc.want)
		}
	}
}
