package underlay_test

import (
	"net"
	"net/netip"
	"sync"
	"testing"
	"time"

	"switchboard/internal/firewall/underlay"
	"switchboard/internal/netcheck"
	"switchboard/internal/netnstest"
)

// stream sends VXLAN probes with one marker from ns (source src) to dst,
// one every 100 µs, until stopped.
type stream struct {
	marker string
	mu     sync.Mutex
	sent   int
	stop   chan struct{}
	done   chan error
}

func startStream(t *testing.T, ns *netnstest.NS, src netip.Addr, dst *host) *stream {
	t.Helper()
	s := &stream{marker: newMarker(t), stop: make(chan struct{}), done: make(chan error, 1)}
	var c *net.UDPConn
	err := ns.Do(func() (err error) {
		c, err = net.DialUDP("udp", net.UDPAddrFromAddrPort(netip.AddrPortFrom(src, 0)),
			net.UDPAddrFromAddrPort(netip.AddrPortFrom(dst.ip, underlay.DefaultPort)))
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	d := netcheck.VXLANDatagram(vni, netcheck.ProbeFrame(net.HardwareAddr{2, 0, 0, 0, 0, 1}, s.marker))
	go func() {
		defer c.Close()
		for {
			select {
			case <-s.stop:
				s.done <- nil
				return
			default:
			}
			if _, err := c.Write(d); err != nil {
				s.done <- err
				return
			}
			s.mu.Lock()
			s.sent++
			s.mu.Unlock()
			time.Sleep(100 * time.Microsecond)
		}
	}()
	t.Cleanup(func() { s.end(t) })
	return s
}

// end stops the stream (once) and returns how many probes it sent.
func (s *stream) end(t *testing.T) int {
	t.Helper()
	select {
	case <-s.stop:
	default:
		close(s.stop)
		if err := <-s.done; err != nil {
			t.Errorf("stream %s: %v", s.marker, err)
		}
	}
	return s.count()
}

func (s *stream) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.sent
}

// Replacing the table while VXLAN flows never lets a stranger's datagram
// in (the rules are never absent) nor drops a node's (the node set is
// never empty or partial), even when every Set comes from a new Table, as
// after an agent restart.
func TestSetLeavesNoGap(t *testing.T) {
	b := newBed(t)
	b.set(t, cluster(nodeIP, peerIP))
	legit := startStream(t, b.peer.ns, peerIP, b.node)
	stranger := startStream(t, b.peer.ns, strangerIP, b.node)
	waitCount(t, b.node, legit.marker, 1) // both flow now

	const sets = 200
	before := stranger.count()
	for i := range sets {
		cfg := cluster(nodeIP, peerIP)
		// the set changes every time: another node joins and leaves
		cfg.Nodes = append(cfg.Nodes, netip.AddrFrom4([4]byte{198, 18, 211, byte(i)}))
		b.set(t, cfg)
	}
	during := stranger.count() - before
	sent := legit.end(t)
	strangerSent := stranger.end(t)
	t.Logf("%d Sets while %d probes from a node and %d from a stranger were sent (%d of them during the Sets)", sets, sent, strangerSent, during)
	if during == 0 {
		t.Fatal("no probe was sent while the table was replaced: the test proves nothing")
	}
	// The stranger's probes, sent in between, are in by the time the
	// node's last one is.
	waitCount(t, b.node, legit.marker, sent)
	if got := b.node.counter.Count(legit.marker); got != sent {
		t.Errorf("node's probes: %d delivered of %d sent; want all", got, sent)
	}
	if got := b.node.counter.Count(stranger.marker); got != 0 {
		t.Errorf("stranger's probes: %d delivered of %d sent; want 0 (the rules were absent for a moment)", got, strangerSent)
	}
	if d := b.node.counter.Drops(); d != 0 {
		t.Errorf("the probe counter lost %d frames: the counts are not exact", d)
	}
}
