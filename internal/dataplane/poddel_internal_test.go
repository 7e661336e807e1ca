package dataplane

import (
	"sync"
	"testing"

	"switchboard/internal/netnstest"
)

// TestRemoveOrphansSkipsReserved: an interface an ADD reserves after
// RemoveOrphans listed it (while keep runs) is not removed; once nothing
// holds it, it is.
func TestRemoveOrphansSkipsReserved(t *testing.T) {
	env := netnstest.NewPrefixed(t, "sbcp")
	node, pod := env.NS("node"), env.NS("pod")
	name := HostIfName("c1", "net1")
	netnstest.Veth(t, netnstest.End{NS: node, Name: name}, netnstest.End{NS: pod, Name: "net1"})
	d, err := New(WithNetNS(node.Path))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	var once sync.Once
	var done chan struct{}
	release := func() { // what PreparePod does when it ends
		once.Do(func() {
			d.podMu.Lock()
			delete(d.adding, name)
			d.podMu.Unlock()
			close(done)
			d.pending.Done()
		})
	}
	removed, err := d.RemoveOrphans(func() (map[string]bool, error) {
		// An ADD of the same interface starts now (PreparePod reserves it).
		done, err = d.reserve(name, d.adding)
		if err == nil {
			t.Cleanup(release) // before Close, which waits for it
		}
		return map[string]bool{}, err
	})
	if err != nil || len(removed) != 0 {
		t.Fatalf("RemoveOrphans during an ADD of %s: removed %v, %v; want nothing", name, removed, err)
	}
	release()
	removed, err = d.RemoveOrphans(func() (map[string]bool, error) { return map[string]bool{}, nil })
	if err != nil || len(removed) != 1 || removed[0] != name {
		t.Fatalf("RemoveOrphans: removed %v, %v; want %s", removed, err, name)
	}
}
