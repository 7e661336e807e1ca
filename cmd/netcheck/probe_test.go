package main

import (
	"os"
	"strings"
	"testing"
)

func TestProbeCommandsUsage(t *testing.T) {
	for _, args := range [][]string{
		{"vxlan", "--marker", "m", "198.18.0.10"},                                                              // no VNI
		{"vxlan", "--vni", "16777216", "--marker", "m", "198.18.0.10"},                                         // over 24 bits
		{"vxlan", "--vni", "5", "--marker", "m"},                                                               // no host
		{"vxlan", "--vni", "5", "--marker", "m", "node1"},                                                      // not an address
		{"frames", "--marker", "m"},                                                                            // no interface
		{"frames", "--iface", "x", "--marker", "m", "--kind", "flood"},                                         // no such kind
		{"frames", "--iface", "x", "--kind", "arp"},                                                            // no marker
		{"frames", "--iface", "x", "--marker", "m", "--kind", "spoof"},                                         // no --dst-mac
		{"frames", "--iface", "x", "--marker", "m", "--kind", "spoof", "--dst-mac", "ff:ff:ff:ff:ff:ff"},       // not unicast
		{"frames", "--iface", "x", "--marker", "m", "--kind", "spoof", "--dst-mac", "02:00:00:00:00:01:02:03"}, // not Ethernet
		{"frames", "--iface", "x", "--marker", "m", "--kind", "arp", "--target", "fd00::1"},                    // ARP asks IPv4
		{"frames", "--iface", "x", "--marker", "m", "--kind", "nd", "--target", "10.0.0.1"},                    // ND asks IPv6
		{"frames", "--iface", "x", "--marker", "m", "--target", "10.0.0.1"},                                    // broadcast has no target
		{"frames", "--iface", "x", "--marker", "m", "--kind", "nd", "--src-mac", "02:00:00:00:00:01"},          // only spoof takes MACs
		{"count", "--iface", "lo"},                                                                             // no marker
	} {
		if code, _, stderr := runArgs(t, args...); code != 2 || !strings.Contains(stderr, "usage: netcheck "+args[0]) {
			t.Errorf("netcheck %s: exit %d, want 2 with usage; stderr:\n%s", strings.Join(args, " "), code, stderr)
		}
	}
}

func TestCountPrintsCount(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root: packet socket")
	}
	code, stdout, stderr := runArgs(t, "count", "--iface", "lo", "--marker", "m,n", "--for", "100ms")
	if code != 0 || stdout != "m 0\nn 0\n" || !strings.Contains(stderr, "listening on lo") {
		t.Errorf("count on lo: exit %d, stdout %q, stderr %q; want 0, \"m 0\\nn 0\\n\", listening", code, stdout, stderr)
	}
}
