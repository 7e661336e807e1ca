package netdev

import (
	"net"
	"net/netip"
	"testing"

	"github.com/vishvananda/netlink"
)

func TestVXLANOverhead(t *testing.T) {
	for _, tc := range []struct {
		local string
		want  int
	}{{"198.18.200.1", 50}, {"::ffff:198.18.200.1", 50}, {"fd00::1", 70}} {
		if got := VXLANOverhead(netip.MustParseAddr(tc.local)); got != tc.want {
			t.Errorf("VXLANOverhead(%s) = %d, want %d", tc.local, got, tc.want)
		}
	}
}

func TestVXLANDiffers(t *testing.T) {
	want := &netlink.Vxlan{
		LinkAttrs: netlink.LinkAttrs{Name: "sbvx100", MTU: 1450},
		VxlanId:   100, VtepDevIndex: 2, SrcAddr: net.ParseIP("198.18.200.1"), Port: 4789, Proxy: true,
	}
	same := *want
	same.MTU, same.MasterIndex = 1300, 7 // fixed in place, not a reason to replace
	with := func(f func(v *netlink.Vxlan)) netlink.Link { v := *want; f(&v); return &v }
	for _, tc := range []struct {
		name   string
		have   netlink.Link
		differ bool
	}{
		{"same", &same, false},
		{"bridge", &netlink.Bridge{LinkAttrs: want.LinkAttrs}, true},
		{"VNI", with(func(v *netlink.Vxlan) { v.VxlanId = 101 }), true},
		{"local", with(func(v *netlink.Vxlan) { v.SrcAddr = net.ParseIP("198.18.200.9") }), true},
		{"underlay", with(func(v *netlink.Vxlan) { v.VtepDevIndex = 3 }), true},
		{"port", with(func(v *netlink.Vxlan) { v.Port = 8472 }), true},
		{"learning", with(func(v *netlink.Vxlan) { v.Learning = true }), true},
		{"no proxy", with(func(v *netlink.Vxlan) { v.Proxy = false }), true},
		{"group", with(func(v *netlink.Vxlan) { v.Group = net.ParseIP("239.1.1.1") }), true},
		{"unspecified group", with(func(v *netlink.Vxlan) { v.Group = net.IPv4zero }), false},
		{"external", with(func(v *netlink.Vxlan) { v.FlowBased = true }), true},
		{"miss notifications", with(func(v *netlink.Vxlan) { v.L2miss = true }), true},
	} {
		if got := VXLANDiffers(tc.have, want); (got != "") != tc.differ {
			t.Errorf("%s: VXLANDiffers = %q, want differ=%t", tc.name, got, tc.differ)
		}
	}
}
