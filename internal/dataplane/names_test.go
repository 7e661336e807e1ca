package dataplane

import (
	"errors"
	"net"
	"net/netip"
	"strings"
	"testing"

	"switchboard/internal/netdev"
	"switchboard/internal/netdev/devname"
)

func TestHostIfName(t *testing.T) {
	// Golden values: "sbv" + the first 11 hex digits of sha256(containerID + "/" + ifName).
	for _, tc := range []struct{ ctr, ifName, want string }{
		{"abc", "net1", "sbv9524a1c5175"},
		{"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", "eth0", "sbvdc8ed2ee06e"},
		{"", "", "sbv8a5edab2826"},
	} {
		got := HostIfName(tc.ctr, tc.ifName)
		if got != tc.want {
			t.Errorf("HostIfName(%q, %q) = %q, want %q", tc.ctr, tc.ifName, got, tc.want)
		}
		if len(got) > 15 {
			t.Errorf("HostIfName(%q, %q) = %q: longer than IFNAMSIZ-1", tc.ctr, tc.ifName, got)
		}
		if _, _, ok := parseDevName(got); ok {
			t.Errorf("pod port name %q parses as a network device", got)
		}
	}
}

func TestDevNames(t *testing.T) {
	if got := bridgeName(MaxVNI); got != "sbbr16777215" || len(got) > 15 {
		t.Errorf("bridgeName(MaxVNI) = %q", got)
	}
	for _, tc := range []struct {
		name string
		vni  uint32
		kind string
		ok   bool
	}{
		{"sbbr100", 100, "bridge", true},
		{"sbvx100", 100, "vxlan", true},
		{"sbbr0", 0, "bridge", true},
		{"sbvx16777215", MaxVNI, "vxlan", true},
		{"sbvx16777216", 0, "", false},
		{"sbbr0100", 0, "", false}, // not a name this package makes
		{"sbbr+1", 0, "", false},
		{"sbbr", 0, "", false},
		{"sbv9524a1c5175", 0, "", false},
		{"sbe100", 100, "edge-port", true},
		{"sbn100", 100, "edge-cable", true},
		{"sbe16777215", MaxVNI, "edge-port", true},
		{"sbn16777215", MaxVNI, "edge-cable", true},
		{"sbn16777216", 0, "", false},
		{"sbe0100", 0, "", false},
		{"sbn", 0, "", false},
		{"eth0", 0, "", false},
	} {
		vni, kind, ok := parseDevName(tc.name)
		if vni != tc.vni || kind != tc.kind || ok != tc.ok {
			t.Errorf("parseDevName(%q) = %d, %q, %t; want %d, %q, %t", tc.name, vni, kind, ok, tc.vni, tc.kind, tc.ok)
		}
		names := map[string]string{kindBridge: bridgeName(vni), kindVXLAN: vxlanName(vni),
			kindEdgePort: edgePortName(vni), kindCable: devname.EdgeCable(vni)}
		if ok && names[kind] != tc.name {
			t.Errorf("%q does not round-trip", tc.name)
		}
		if ok && isPodPort(tc.name) {
			t.Errorf("%q, a network device, counts as a pod port", tc.name)
		}
	}
	for _, name := range []string{bridgeName(MaxVNI), vxlanName(MaxVNI), edgePortName(MaxVNI), devname.EdgeCable(MaxVNI)} {
		if len(name) > 15 {
			t.Errorf("%q is longer than IFNAMSIZ-1", name)
		}
	}
}

func TestDeriveMTU(t *testing.T) {
	v4, v6 := netip.MustParseAddr("198.18.200.1"), netip.MustParseAddr("fd00::1")
	for _, tc := range []struct {
		want, underlay int
		local          netip.Addr
		mtu            int // 0: error
		wan            int // WANOverhead
	}{
		// An inter-cluster network: the larger overhead wins; an explicit
		// MTU is checked against the underlay only.
		{0, 1500, v4, 1350, netdev.InterClusterOverhead},
		{0, 1500, v6, 1350, netdev.InterClusterOverhead},
		{0, 1500, v4, 1450, 20},
		{1400, 1500, v4, 1400, netdev.InterClusterOverhead},
		{0, 1400, v4, 0, 1400 - 67},
		{0, 1500, v4, 1450, 0},
		{0, 1500, v6, 1430, 0},
		{0, 9000, v4, 8950, 0},
		{0, 1500, netip.MustParseAddr("::ffff:198.18.200.1"), 1450, 0},
		{1400, 1500, v4, 1400, 0},
		{1450, 1500, v4, 1450, 0},
		{1451, 1500, v4, 0, 0},
		{1431, 1500, v6, 0, 0},
		{67, 1500, v4, 0, 0},
		{0, 100, v4, 0, 0},
	} {
		got, err := deriveMTU(tc.want, tc.underlay, tc.local, tc.wan)
		if got != tc.mtu || (tc.mtu == 0) != errors.Is(err, ErrInvalid) {
			t.Errorf("deriveMTU(%d, %d, %s, %d) = %d, %v; want %d", tc.want, tc.underlay, tc.local, tc.wan, got, err, tc.mtu)
		}
	}
}

func TestRandomMAC(t *testing.T) {
	seen := map[netdev.MAC]bool{}
	for range 100 {
		m := randomMAC()
		if m[0]&1 != 0 || m[0]&2 == 0 {
			t.Fatalf("%s is not locally administered unicast", m)
		}
		seen[m] = true
	}
	if len(seen) < 99 {
		t.Errorf("only %d distinct MACs out of 100", len(seen))
	}
}

func TestPodInterfaceValidate(t *testing.T) {
	ok := PodInterface{ContainerID: "c", NetNS: "/run/netns/x", IfName: "net1", VNI: 100,
		IPs: []netip.Prefix{netip.MustParsePrefix("10.0.0.1/24"), netip.MustParsePrefix("fd00::1/64")}}
	for _, tc := range []struct {
		name   string
		modify func(*PodInterface)
		want   string // in the error; "" for valid
	}{
		{"valid", func(*PodInterface) {}, ""},
		{"pure L2", func(p *PodInterface) { p.IPs = nil }, ""},
		{"no container", func(p *PodInterface) { p.ContainerID = "" }, "container ID"},
		{"no netns", func(p *PodInterface) { p.NetNS = "" }, "network namespace"},
		{"long name", func(p *PodInterface) { p.IfName = "a234567890123456" }, "interface name"},
		{"slash in name", func(p *PodInterface) { p.IfName = "a/b" }, "interface name"},
		{"VNI too big", func(p *PodInterface) { p.VNI = 1 << 24 }, "VNI"},
		{"tiny MTU", func(p *PodInterface) { p.MTU = 60 }, "MTU"},
		{"multicast MAC", func(p *PodInterface) { p.MAC = net.HardwareAddr{1, 0, 0x5e, 0, 0, 1} }, "MAC"},
		{"short MAC", func(p *PodInterface) { p.MAC = net.HardwareAddr{2, 0, 0} }, "MAC"},
		{"multicast IP", func(p *PodInterface) { p.IPs = []netip.Prefix{netip.MustParsePrefix("224.0.0.1/24")} }, "unicast"},
		{"duplicate IP", func(p *PodInterface) { p.IPs = append(p.IPs, netip.MustParsePrefix("10.0.0.1/16")) }, "twice"},
		{"bad gateway", func(p *PodInterface) { p.Gateway = netip.MustParseAddr("0.0.0.0") }, "gateway"},
	} {
		p := ok
		tc.modify(&p)
		err := p.validate()
		if tc.want == "" && err != nil || tc.want != "" && (!errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tc.want)) {
			t.Errorf("%s: validate() = %v, want %q", tc.name, err, tc.want)
		}
	}
}

func TestConfigValidate(t *testing.T) {
	local := netip.MustParseAddr("198.18.200.1")
	for _, tc := range []struct {
		cfg  Config
		want string
	}{
		{Config{Underlay: "eth0", LocalIP: local}, ""},
		{Config{LocalIP: local}, "underlay"},
		{Config{Underlay: "eth0"}, "local IP"},
		{Config{Underlay: "eth0", LocalIP: netip.MustParseAddr("0.0.0.0")}, "local IP"},
		{Config{Underlay: "eth0", LocalIP: local, Networks: map[uint32]Network{MaxVNI + 1: {}}}, "VNI"},
	} {
		err := tc.cfg.validate()
		if tc.want == "" && err != nil || tc.want != "" && (!errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tc.want)) {
			t.Errorf("validate(%+v) = %v, want %q", tc.cfg, err, tc.want)
		}
	}
}

func TestNetworksInUseError(t *testing.T) {
	err := &NetworksInUseError{Ports: map[uint32][]string{200: {"sbvb", "sbva"}, 100: {"sbvc"}}}
	if got, want := err.Error(), "keep networks still in use: 100 (ports sbvc) 200 (ports sbvb,sbva)"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
}
