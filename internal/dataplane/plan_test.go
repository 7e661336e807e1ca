package dataplane

import (
	"errors"
	"net"
	"net/netip"
	"strings"
	"testing"

	"switchboard/internal/netdev"
)

var (
	local = netip.MustParseAddr("198.18.200.1")
	nodeB = netip.MustParseAddr("198.18.200.2")
	nodeC = netip.MustParseAddr("198.18.200.3")
	macB1 = net.HardwareAddr{0x02, 0, 0, 0, 0xb, 1}
	macB2 = net.HardwareAddr{0x02, 0, 0, 0, 0xb, 2}
	macC1 = net.HardwareAddr{0x02, 0, 0, 0, 0xc, 1}
)

func addrs(ss ...string) []netip.Addr {
	var out []netip.Addr
	for _, s := range ss {
		out = append(out, netip.MustParseAddr(s))
	}
	return out
}

func m(hw net.HardwareAddr) netdev.MAC { x, _ := netdev.MACOf(hw); return x }

func TestPlanNetwork(t *testing.T) {
	p, err := planNetwork(100, Network{Remotes: []Remote{
		{NodeIP: nodeC, MAC: macC1, IPs: addrs("10.0.0.31")},
		{NodeIP: nodeB, MAC: macB2},
		{NodeIP: nodeB, MAC: macB1, IPs: addrs("10.0.0.21", "fd00::21")},
		{NodeIP: nodeB, MAC: macB1, IPs: addrs("10.0.0.21")}, // listed twice: harmless
	}}, 1500, local)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range p.self {
		got = append(got, e.MAC.String()+" "+e.Dst.String())
	}
	want := "00:00:00:00:00:00 198.18.200.2|00:00:00:00:00:00 198.18.200.3|" +
		"02:00:00:00:0b:01 198.18.200.2|02:00:00:00:0b:02 198.18.200.2|02:00:00:00:0c:01 198.18.200.3"
	if strings.Join(got, "|") != want {
		t.Errorf("self entries:\n%s\nwant\n%s", strings.Join(got, "|"), want)
	}
	if len(p.local) != 3 || len(p.neigh) != 3 || p.neigh[netip.MustParseAddr("fd00::21")] != m(macB1) || p.mtu != 1450 {
		t.Errorf("plan: %+v", p)
	}

	for _, tc := range []struct {
		name    string
		remotes []Remote
		want    string
	}{
		{"MAC on two nodes", []Remote{{NodeIP: nodeB, MAC: macB1}, {NodeIP: nodeC, MAC: macB1}}, "on both node"},
		{"IP with two MACs", []Remote{{NodeIP: nodeB, MAC: macB1, IPs: addrs("10.0.0.1")}, {NodeIP: nodeB, MAC: macB2, IPs: addrs("10.0.0.1")}}, "belongs to both"},
		{"multicast MAC", []Remote{{NodeIP: nodeB, MAC: net.HardwareAddr{1, 0, 0x5e, 0, 0, 1}}}, "MAC"},
		{"zero MAC", []Remote{{NodeIP: nodeB, MAC: make(net.HardwareAddr, 6)}}, "MAC"},
		{"IPv6 node on an IPv4 underlay", []Remote{{NodeIP: netip.MustParseAddr("fd00::2"), MAC: macB1}}, "family"},
		{"missing node IP", []Remote{{MAC: macB1}}, "node IP"},
		{"the local node", []Remote{{NodeIP: local, MAC: macB1}}, "local IP"},
		{"multicast pod IP", []Remote{{NodeIP: nodeB, MAC: macB1, IPs: addrs("224.0.0.1")}}, "unicast"},
		{"flood-only with IPs", []Remote{{NodeIP: nodeB, IPs: addrs("10.0.0.1")}}, "flood-only"},
		{"flood-only on the local node", []Remote{{NodeIP: local}}, "local IP"},
	} {
		_, err := planNetwork(100, Network{Remotes: tc.remotes}, 1500, local)
		if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want ErrInvalid saying %q", tc.name, err, tc.want)
		}
	}
}

// TestPlanFloodOnly: a remote without a MAC makes its node a head-end
// replication target and nothing else; the other remotes keep their exact
// entries; Flood turns the proxy off.
func TestPlanFloodOnly(t *testing.T) {
	p, err := planNetwork(100, Network{Flood: true, Remotes: []Remote{
		{NodeIP: nodeC}, // e.g. the gateway, member through its edge cable
		{NodeIP: nodeB, MAC: macB1, IPs: addrs("10.0.0.21")},
		{NodeIP: nodeB}, // flood-only on a node that has pods too: one all-zeros entry
	}}, 1500, local)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range p.self {
		got = append(got, e.MAC.String()+" "+e.Dst.String())
	}
	want := "00:00:00:00:00:00 198.18.200.2|00:00:00:00:00:00 198.18.200.3|02:00:00:00:0b:01 198.18.200.2"
	if strings.Join(got, "|") != want {
		t.Errorf("self entries:\n%s\nwant\n%s", strings.Join(got, "|"), want)
	}
	if len(p.local) != 1 || p.local[0] != m(macB1) || len(p.neigh) != 1 || !p.flood {
		t.Errorf("plan: %+v; want one local MAC, one neighbour, flood", p)
	}
}
