package edge

import (
	"errors"
	"net"
	"net/netip"
	"strings"
	"testing"
)

func TestConfigValidate(t *testing.T) {
	local := netip.MustParseAddr("198.19.0.1")
	for _, tc := range []struct {
		name string
		cfg  Config
		want string // in the error; "" for valid
	}{
		{"valid", Config{WANLocal: local, WANDevice: "eth1", Links: []Link{{ID: 1, Cable: "sbn1"}, {ID: 2, Cable: "sbn2"}}}, ""},
		{"two links without cable", Config{WANLocal: local, WANDevice: "eth1", Links: []Link{{ID: 1}, {ID: 2}}}, ""},
		{"no device", Config{WANLocal: local}, "WAN device"},
		{"no address", Config{WANDevice: "eth1"}, "WAN address"},
		{"multicast address", Config{WANLocal: netip.MustParseAddr("239.0.0.1"), WANDevice: "eth1"}, "WAN address"},
		{"link twice", Config{WANLocal: local, WANDevice: "eth1", Links: []Link{{ID: 1}, {ID: 1}}}, "twice"},
		{"cable twice", Config{WANLocal: local, WANDevice: "eth1", Links: []Link{{ID: 1, Cable: "x"}, {ID: 2, Cable: "x"}}}, "links 1 and 2"},
	} {
		err := tc.cfg.validate()
		if tc.want == "" && err != nil || tc.want != "" && (!errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tc.want)) {
			t.Errorf("%s: validate() = %v, want %q", tc.name, err, tc.want)
		}
	}
}

func TestPlan(t *testing.T) {
	local := netip.MustParseAddr("198.19.0.1")
	peer := Peer{Cluster: "b", Endpoint: netip.MustParseAddr("198.19.0.2"), MACs: []net.HardwareAddr{{2, 0, 0, 0, 0, 1}}}
	for _, tc := range []struct {
		name    string
		link    Link
		wanMTU  int
		wantMTU int
		want    string // in the error; "" for valid
	}{
		{"derived MTU", Link{ID: 4096, Cable: "sbn4096", Peers: []Peer{peer}}, 1500, 1450, ""},
		{"jumbo WAN", Link{ID: 4096, Cable: "sbn4096"}, 9000, 8950, ""},
		{"given MTU", Link{ID: 4096, Cable: "sbn4096", MTU: 1400}, 1500, 1400, ""},
		{"MTU too big", Link{ID: 4096, MTU: 1451}, 1500, 0, "MTU 1451"},
		{"MTU too small", Link{ID: 4096, MTU: 60}, 1500, 0, "MTU 60"},
		{"tiny WAN", Link{ID: 4096}, 100, 0, "WAN MTU 100"},
		{"ID too big", Link{ID: 1 << 24}, 1500, 0, "ID"},
		{"cable is ours", Link{ID: 1, Cable: "sbwb1"}, 1500, 0, "cable"},
		{"cable is the tunnel", Link{ID: 1, Cable: "sbwx2"}, 1500, 0, "cable"},
		{"cable is the WAN", Link{ID: 1, Cable: "eth1"}, 1500, 0, "cable"},
		{"cable name too long", Link{ID: 1, Cable: "a234567890123456"}, 1500, 0, "cable"},
		{"peer is us", Link{ID: 1, Peers: []Peer{{Endpoint: local}}}, 1500, 0, "endpoint"},
		{"IPv6 peer", Link{ID: 1, Peers: []Peer{{Endpoint: netip.MustParseAddr("fd00::2")}}}, 1500, 0, "endpoint"},
	} {
		p, err := plan(tc.link, "eth1", tc.wanMTU, 50, local)
		if tc.want == "" && (err != nil || p.mtu != tc.wantMTU || p.port.MTU != tc.wantMTU || p.port.ID != tc.link.ID) ||
			tc.want != "" && (!errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tc.want)) {
			t.Errorf("%s: plan() = %+v, %v; want MTU %d or error %q", tc.name, p, err, tc.wantMTU, tc.want)
		}
	}
}

func TestNames(t *testing.T) {
	if got := BridgeName(1<<24 - 1); got != "sbwb16777215" || len(got) > 15 {
		t.Errorf("BridgeName(max) = %q", got)
	}
	for _, tc := range []struct {
		name string
		ours bool
	}{
		{"sbwb4096", true}, {"sbwx4096", true}, {"sbwb04096", false}, {"sbwb16777216", false},
		{"sbn4096", false}, {"sbe4096", false}, {"sbbr4096", false}, {"sbvx4096", false}, {"eth0", false},
	} {
		if got := ours(tc.name); got != tc.ours {
			t.Errorf("ours(%q) = %t, want %t", tc.name, got, tc.ours)
		}
	}
}
