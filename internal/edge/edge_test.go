package edge_test

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"switchboard/internal/edge"
	"switchboard/internal/netdev/devname"
	"switchboard/internal/netnstest"
)

// TestTraffic: a pod in cluster a reaches its network's pod in cluster b
// through both edges (real ICMP through the real kernel), and nothing of
// network 2 reaches network 1: not a ping, not an ARP request.
func TestTraffic(t *testing.T) {
	w := newWorld(t)
	a1, a2, b1, b2 := w.a.pods[1], w.a.pods[2], w.b.pods[1], w.b.pods[2]
	for _, pair := range [][2]*pod{{a1, b1}, {b1, a1}, {a2, b2}, {b2, a2}} {
		if got := pair[0].ns.Ping(t, pair[1].ip, 3, "2"); got == 0 {
			t.Errorf("ping %s -> %s (%s): %d of 3 answered, want some", pair[0].ns.Name, pair[1].ns.Name, pair[1].ip, got)
		}
	}

	caps := []*netnstest.Capture{b1.ns.CaptureARP(t, "net1"), a1.ns.CaptureARP(t, "net1")}
	own := a2.ns.CaptureARP(t, "net1")
	for _, pair := range [][2]*pod{{a2, b1}, {b2, a1}} {
		if got := pair[0].ns.Ping(t, pair[1].ip, 2, "1"); got != 0 {
			t.Errorf("network 2 pod %s reached network 1 pod %s: %d replies", pair[0].ns.Name, pair[1].ns.Name, got)
		}
	}
	for _, c := range caps {
		for _, arp := range c.Stop() {
			if arp.SenderIP == a2.ip || arp.SenderIP == b2.ip {
				t.Errorf("a network 1 pod received network 2's ARP %+v", arp)
			}
		}
	}
	asked := slices.ContainsFunc(own.Stop(), func(a netnstest.ARP) bool {
		return a.Op == 1 && a.SenderIP == a2.ip && a.TargetIP == b1.ip
	})
	if !asked {
		t.Error("network 2 pod in a never sent an ARP request for network 1 pod in b: the test proves nothing")
	}

	st, err := w.a.ed.Status()
	if err != nil {
		t.Fatal(err)
	}
	if len(st.Links) != 2 || !st.Links[0].Ready || !st.Links[1].Ready {
		t.Errorf("status of a: %+v, want links 4096 and 5000 ready", st)
	}
	if l := st.Links[0]; l.ID != 4096 || l.Bridge != "sbwb4096" || l.Tunnel != "sbwx4096" || l.Cable != "sbn4096" || l.MTU != 1450 || l.Peers != 1 {
		t.Errorf("status of link 4096: %+v", l)
	}
}

// TestSetIdempotent: Set with the config it already applied changes no
// device and no entry, on either the edge's or the agent's side.
func TestSetIdempotent(t *testing.T) {
	w := newWorld(t)
	for _, s := range []*site{w.a, w.b} {
		before := dump(t, s)
		if !slices.ContainsFunc(before, func(l string) bool { return strings.HasPrefix(l, "fdb sbwx5000") }) {
			t.Fatalf("no FDB entries on %s's sbwx5000:\n%s", s.name, strings.Join(before, "\n"))
		}
		for range 2 {
			if err := s.ed.Set(w.config(s)); err != nil {
				t.Fatal(err)
			}
		}
		if got := dump(t, s); !slices.Equal(got, before) {
			t.Errorf("repeated Set on %s changed the kernel:\n%s\nwas:\n%s", s.name, strings.Join(got, "\n"), strings.Join(before, "\n"))
		}
	}
}

// TestRemoveLink: a link that leaves the config leaves the kernel: its
// bridge and tunnel port go, its cable stays (the agent's) and is free
// again, its traffic stops; the other link goes on.
func TestRemoveLink(t *testing.T) {
	w := newWorld(t)
	a1, a2, b1, b2 := w.a.pods[1], w.a.pods[2], w.b.pods[1], w.b.pods[2]
	if got := a2.ns.Ping(t, b2.ip, 2, "2"); got == 0 {
		t.Fatalf("network 2 before removal: %d/2 replies", got)
	}
	w.links[2] = false
	w.program(t)
	for _, s := range []*site{w.a, w.b} {
		for _, name := range []string{"sbwb5000", "sbwx5000"} {
			if exists(t, s, name) {
				t.Errorf("%s still on %s after its link left the config", name, s.name)
			}
		}
		cable, err := s.h.LinkByName(devname.EdgeCable(s.vni[2]))
		if err != nil || cable.Attrs().MasterIndex != 0 {
			t.Errorf("cable of network 2 on %s: %v, %v; want it kept, without master", s.name, cable, err)
		}
		st, err := s.ed.Status()
		if err != nil || len(st.Links) != 1 || st.Links[0].ID != 4096 {
			t.Errorf("status of %s: %+v, %v; want link 4096 alone", s.name, st, err)
		}
	}
	if got := a2.ns.Ping(t, b2.ip, 2, "1"); got != 0 {
		t.Errorf("network 2 still carried after its link left: %d replies", got)
	}
	if got := a1.ns.Ping(t, b1.ip, 3, "2"); got == 0 {
		t.Errorf("network 1 after network 2 left: %d/3 replies", got)
	}
}

// TestRestart: a restart is a new Edge on the same kernel state; Set with
// the same config changes nothing, and a ping at 100/s across it loses
// nothing.
func TestRestart(t *testing.T) {
	w := newWorld(t)
	a1, b1 := w.a.pods[1], w.b.pods[1]
	before := map[*site][]string{w.a: dump(t, w.a), w.b: dump(t, w.b)}

	const count = 200
	pingDone := a1.ns.PingDuring(t, b1.ip, count)
	for _, s := range []*site{w.a, w.b} {
		if err := s.ed.Close(); err != nil {
			t.Fatal(err)
		}
		s.ed = newEdge(t, s)
		for range 2 {
			if err := s.ed.Set(w.config(s)); err != nil {
				t.Fatalf("Set after restart on %s: %v", s.name, err)
			}
		}
	}
	sent, received, out, err := pingDone()
	if err != nil || sent != count || received != count {
		t.Errorf("ping across the restart: %d sent, %d received (%v):\n%s", sent, received, err, out)
	} else {
		t.Logf("ping across the restart: %d/%d received", received, sent)
	}
	for s, b := range before {
		if got := dump(t, s); !slices.Equal(got, b) {
			t.Errorf("restart changed %s:\n%s\nwas:\n%s", s.name, strings.Join(got, "\n"), strings.Join(b, "\n"))
		}
	}
}

// TestMissingCable: a link whose cable does not exist is reported, with its
// WAN side made, while the other links converge; once the agent makes the
// cable, the next Set takes it.
func TestMissingCable(t *testing.T) {
	w := newWorld(t)
	cfg := w.config(w.a)
	cfg.Links = append(cfg.Links, edge.Link{ID: 7000, Cable: devname.EdgeCable(9999),
		Peers: []edge.Peer{{Cluster: "b", Endpoint: w.b.wan}}})
	err := w.a.ed.Set(cfg)
	var le *edge.LinkError
	if !errors.Is(err, edge.ErrNoCable) || !errors.As(err, &le) || le.ID != 7000 {
		t.Fatalf("Set with a missing cable: %v; want a LinkError for 7000 wrapping ErrNoCable", err)
	}
	if !exists(t, w.a, "sbwb7000") || !exists(t, w.a, "sbwx7000") {
		t.Error("the WAN side of the link without cable was not made")
	}
	st, err := w.a.ed.Status()
	if err != nil {
		t.Fatal(err)
	}
	byID := map[uint32]edge.LinkStatus{}
	for _, l := range st.Links {
		byID[l.ID] = l
	}
	if l := byID[7000]; l.Ready || !slices.ContainsFunc(l.Missing, func(m string) bool { return strings.Contains(m, `"sbn9999" does not exist`) }) {
		t.Errorf("status of link 7000: %+v; want not ready, its cable missing", l)
	}
	if !byID[4096].Ready || !byID[5000].Ready {
		t.Errorf("status of the other links: %+v", st)
	}
	if got := w.a.pods[1].ns.Ping(t, w.b.pods[1].ip, 3, "2"); got == 0 {
		t.Errorf("network 1 beside a link without cable: %d/3 replies", got)
	}

	w.a.setAgent(t, []uint32{9999})
	if err := w.a.ed.Set(cfg); err != nil {
		t.Fatalf("Set once the cable exists: %v", err)
	}
	if st, _ := w.a.ed.Status(); !st.Links[2].Ready {
		t.Errorf("link 7000 once its cable exists: %+v", st.Links[2])
	}
}

// TestCableTaken: a cable that is a port of a device the edge did not make
// is refused, not stolen.
func TestCableTaken(t *testing.T) {
	w := newWorld(t)
	w.links[2] = false
	w.program(t)
	if _, err := w.a.gw.Exec("ip", "link", "add", "testbr0", "type", "bridge"); err != nil {
		t.Fatal(err)
	}
	if out, err := w.a.gw.Exec("ip", "link", "set", "sbn4097", "master", "testbr0"); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	w.links[2] = true
	err := w.a.ed.Set(w.config(w.a))
	if !errors.Is(err, edge.ErrCableTaken) || !strings.Contains(err.Error(), "testbr0") {
		t.Fatalf("Set with a cable on a foreign bridge: %v; want ErrCableTaken naming testbr0", err)
	}
}
