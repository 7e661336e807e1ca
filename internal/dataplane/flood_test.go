package dataplane_test

import (
	"net/netip"
	"testing"

	"github.com/vishvananda/netlink"

	"switchboard/internal/dataplane"
	"switchboard/internal/netnstest"
)

// TestFloodReachesBeyondEdge: on an inter-cluster network, a pod on a node
// without the edge cable (b) resolves and pings an address that exists only
// behind the gateway's (a) cable. Node a has no pod on the network: b knows
// it as a flood-only remote. With the ARP proxy on (Flood unset) b's VXLAN
// device drops the ARP request for the unknown address, so nothing answers;
// with Flood the request is flooded to a and crosses the cable.
func TestFloodReachesBeyondEdge(t *testing.T) {
	c := newClusterIn(t, netnstest.NewPrefixed(t, "sbx"),
		netip.MustParsePrefix("198.18.202.1/24"), netip.MustParsePrefix("198.18.202.2/24"))
	c.cable[red] = true
	set := func(flood bool) {
		t.Helper()
		for _, n := range []*node{c.a, c.b} {
			cfg := c.config(n)
			nw := cfg.Networks[red]
			nw.Flood = flood
			if n == c.b {
				nw.Remotes = append(nw.Remotes, dataplane.Remote{NodeIP: c.a.ip}) // a's edge cable
			}
			cfg.Networks[red] = nw
			if err := n.dp.Set(cfg); err != nil {
				t.Fatalf("set node %s: %v", n.name, err)
			}
		}
	}
	set(false)
	redB := c.addPod(t, c.b, "red", red, "10.100.0.12/24")
	blueB := c.addPod(t, c.b, "blue", blue, "10.100.0.22/24")
	set(false)

	farIP := c.farBeyondEdge(t)

	if got := redB.ns.Ping(t, farIP, 2, "1"); got != 0 {
		t.Errorf("with the ARP proxy on, red pod on b reached %s: %d replies; want the request dropped", farIP, got)
	}
	set(true)
	if v, ok := link(t, c.b, "sbvx100").(*netlink.Vxlan); !ok || v.Proxy {
		t.Errorf("sbvx100 on b: %+v, want a VXLAN device with proxy off", v)
	}
	// The pod's first attempt, made with the proxy on, left its neighbour
	// entry failed: the first request of this ping may be lost while the
	// entry is probed again, more so on a loaded machine.
	if got := redB.ns.Ping(t, farIP, 5, "2"); got == 0 {
		t.Errorf("red pod on b -> beyond a's edge cable: no reply to 5 pings")
	}
	if got := redB.ns.Ping(t, farIP, 3, "5"); got != 3 {
		t.Errorf("red pod on b -> beyond a's edge cable: %d/3 replies", got)
	}
	if got := blueB.ns.Ping(t, farIP, 2, "1"); got != 0 {
		t.Errorf("blue pod on b reached red's edge cable: %d replies", got)
	}
	// Idempotent: a second Set with Flood changes no device.
	before := linkIndexes(t, c.b)
	set(true)
	if after := linkIndexes(t, c.b); after["sbvx100"] != before["sbvx100"] {
		t.Errorf("sbvx100 recreated by an identical Set: index %d, was %d", after["sbvx100"], before["sbvx100"])
	}
}
