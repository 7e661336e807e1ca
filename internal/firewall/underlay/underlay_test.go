package underlay_test

import (
	"net/netip"
	"strings"
	"testing"

	"switchboard/internal/dataplane"
	"switchboard/internal/edge"
	"switchboard/internal/firewall/underlay"
	"switchboard/internal/netdev/devname"
)

func TestSpecGolden(t *testing.T) {
	spec, err := underlay.Spec(underlay.Config{
		Nodes:         []netip.Addr{netip.MustParseAddr("198.18.0.11"), netip.MustParseAddr("198.18.0.10"), netip.MustParseAddr("fd00:18::10")},
		PodCIDRs:      []netip.Prefix{netip.MustParsePrefix("10.10.1.0/24"), netip.MustParsePrefix("10.10.0.0/24"), netip.MustParsePrefix("fd00:10::/64")},
		PodInterfaces: []string{"cni0"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := spec.String(); got != golden {
		t.Errorf("spec:\n%s\nwant:\n%s", got, golden)
	}
}

// golden is the table of a dual-stack cluster of two nodes with the
// reference bridge plugin (cni0) as primary network: adjacent pod CIDRs
// merged, node addresses sorted.
const golden = `	set nodes4 {
		type ipv4_addr
		elements = { 198.18.0.10, 198.18.0.11 }
	}
	set nodes6 {
		type ipv6_addr
		elements = { fd00:18::10 }
	}
	set pods4 {
		type ipv4_addr
		flags interval
		elements = { 10.10.0.0/23 }
	}
	set pods6 {
		type ipv6_addr
		flags interval
		elements = { fd00:10::/64 }
	}
	chain notrack-in {
		type filter hook prerouting priority raw; policy accept;
		udp dport 4789 ip saddr @nodes4 iifname != "sbv*" iifname != "sbbr*" iifname != "sbe*" iifname != "sbn*" iifname != "sbw*" iifname != "cni0" counter notrack comment "VXLAN from a node: not tracked"
		udp dport 4789 ip6 saddr @nodes6 iifname != "sbv*" iifname != "sbbr*" iifname != "sbe*" iifname != "sbn*" iifname != "sbw*" iifname != "cni0" counter notrack comment "VXLAN from a node: not tracked"
		iifname "sbbr*" counter notrack comment "bridged by a network: not tracked"
		iifname "sbwb*" counter notrack comment "bridged by a network: not tracked"
	}
	chain notrack-out {
		type filter hook output priority raw; policy accept;
		udp dport 4789 ip saddr @nodes4 counter notrack comment "this node's VXLAN: not tracked"
		udp dport 4789 ip6 saddr @nodes6 counter notrack comment "this node's VXLAN: not tracked"
	}
	chain prerouting {
		type filter hook prerouting priority dstnat - 10; policy accept;
		udp dport 4789 iifname "sbv*" counter drop comment "VXLAN from a pod-side interface"
		udp dport 4789 iifname "sbbr*" counter drop comment "VXLAN from a pod-side interface"
		udp dport 4789 iifname "sbe*" counter drop comment "VXLAN from a pod-side interface"
		udp dport 4789 iifname "sbn*" counter drop comment "VXLAN from a pod-side interface"
		udp dport 4789 iifname "sbw*" counter drop comment "VXLAN from a pod-side interface"
		udp dport 4789 iifname "cni0" counter drop comment "VXLAN from a pod-side interface"
		udp dport 4789 ip saddr @pods4 counter drop comment "VXLAN from a pod address"
		udp dport 4789 ip6 saddr @pods6 counter drop comment "VXLAN from a pod address"
	}
	chain forward {
		type filter hook forward priority filter - 10; policy accept;
		udp dport 4789 iifname "sbv*" counter drop comment "VXLAN from a pod-side interface"
		udp dport 4789 iifname "sbbr*" counter drop comment "VXLAN from a pod-side interface"
		udp dport 4789 iifname "sbe*" counter drop comment "VXLAN from a pod-side interface"
		udp dport 4789 iifname "sbn*" counter drop comment "VXLAN from a pod-side interface"
		udp dport 4789 iifname "sbw*" counter drop comment "VXLAN from a pod-side interface"
		udp dport 4789 iifname "cni0" counter drop comment "VXLAN from a pod-side interface"
		udp dport 4789 ip saddr @pods4 counter drop comment "VXLAN from a pod address"
		udp dport 4789 ip6 saddr @pods6 counter drop comment "VXLAN from a pod address"
	}
	chain postrouting {
		type filter hook postrouting priority srcnat + 10; policy accept;
		udp dport 4789 ct status snat counter drop comment "VXLAN source-NATed on this node: a pod's"
	}
	chain input {
		type filter hook input priority filter - 10; policy accept;
		udp dport 4789 iifname "sbv*" counter drop comment "VXLAN from a pod-side interface"
		udp dport 4789 iifname "sbbr*" counter drop comment "VXLAN from a pod-side interface"
		udp dport 4789 iifname "sbe*" counter drop comment "VXLAN from a pod-side interface"
		udp dport 4789 iifname "sbn*" counter drop comment "VXLAN from a pod-side interface"
		udp dport 4789 iifname "sbw*" counter drop comment "VXLAN from a pod-side interface"
		udp dport 4789 iifname "cni0" counter drop comment "VXLAN from a pod-side interface"
		udp dport 4789 ip saddr @nodes4 accept comment "VXLAN from a node"
		udp dport 4789 ip6 saddr @nodes6 accept comment "VXLAN from a node"
		udp dport 4789 counter drop comment "VXLAN not from a node"
	}
`

// The interface patterns cover the names that dataplane and edge give
// their devices.
func TestSwitchboardInterfacesCoverDeviceNames(t *testing.T) {
	names := []string{
		dataplane.HostIfName("0123456789abcdef", "net1"),
		devname.EdgeCable(16777215),
		edge.BridgeName(16777215),
		"sbbr16777215", "sbvx16777215", "sbe16777215", "sbwx16777215",
	}
	for _, n := range names {
		covered := false
		for _, p := range underlay.SwitchboardInterfaces {
			if strings.HasPrefix(n, strings.TrimSuffix(p, "*")) {
				covered = true
			}
		}
		if !covered {
			t.Errorf("device %q matches no pattern of %q", n, underlay.SwitchboardInterfaces)
		}
	}
}
