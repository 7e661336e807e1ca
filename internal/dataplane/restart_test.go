package dataplane_test

import (
	"maps"
	"slices"
	"strings"
	"testing"
)

// TestRestart: an agent restart is a new Dataplane on the same kernel state.
// Set with the same config and AddPod for the running pods change no device
// and drop no entry, and a ping at 100/s across the restart loses nothing.
func TestRestart(t *testing.T) {
	c := newCluster(t)
	redA, redB, blueA, _ := c.fourPods(t)
	links := map[*node]map[string]int{}
	ents := map[*node]map[uint32][]string{}
	for _, n := range []*node{c.a, c.b} {
		links[n] = linkIndexes(t, n)
		ents[n] = map[uint32][]string{red: entries(t, n, red), blue: entries(t, n, blue)}
	}

	const count = 300 // 3 s at 100/s
	pingDone := redA.ns.PingDuring(t, redB.ip(), count)

	for _, n := range []*node{c.a, c.b} {
		if err := n.dp.Close(); err != nil {
			t.Fatal(err)
		}
		n.dp = newDataplane(t, n)
		for range 3 {
			if err := n.dp.Set(c.config(n)); err != nil {
				t.Fatalf("Set after restart on node %s: %v", n.name, err)
			}
		}
	}
	for _, p := range []*pod{redA, redB, blueA} {
		if _, err := p.node.dp.AddPod(p.spec); err != nil {
			t.Errorf("AddPod %s again after restart: %v", p.name, err)
		}
		if err := p.node.dp.CheckPod(p.spec); err != nil {
			t.Errorf("CheckPod %s after restart: %v", p.name, err)
		}
	}

	sent, received, out, err := pingDone()
	if err != nil || sent != count || received != count {
		t.Errorf("ping across the restart: %d sent, %d received (%v):\n%s", sent, received, err, out)
	} else {
		t.Logf("ping across the restart: %d/%d received", received, sent)
	}
	for _, n := range []*node{c.a, c.b} {
		if got := linkIndexes(t, n); !maps.Equal(got, links[n]) {
			t.Errorf("node %s ifindexes changed: %v, were %v", n.name, got, links[n])
		}
		for vni, want := range ents[n] {
			if got := entries(t, n, vni); !slices.Equal(got, want) {
				t.Errorf("node %s network %d entries changed:\n%s\nwere:\n%s", n.name, vni,
					strings.Join(got, "\n"), strings.Join(want, "\n"))
			}
		}
	}
}
