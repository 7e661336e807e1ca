package netdev

import (
	"cmp"
	"fmt"
	"net/netip"
	"slices"
)

// This file is the pure part of FDB sync: which operations take a VXLAN
// device's forwarding entries from what the kernel has to what is wanted.
// The operations print like the bridge(8) commands that would do the same,
// so tests compare them as text.

// FDBEntry is an entry of a VXLAN device's own FDB: frames for MAC go to
// the remote VTEP Dst. An all-zeros MAC is a head-end replication target:
// broadcast, multicast and unknown unicast go to every such Dst.
type FDBEntry struct {
	MAC MAC
	Dst netip.Addr
}

func (e FDBEntry) String() string { return fmt.Sprintf("%s dst %s", e.MAC, e.Dst) }

// CompareFDB orders entries by MAC, then destination.
func CompareFDB(a, b FDBEntry) int {
	return cmp.Or(a.MAC.Compare(b.MAC), a.Dst.Compare(b.Dst))
}

// FDB is the forwarding state of a VXLAN device that is a bridge port.
type FDB struct {
	Self []FDBEntry // the device's own entries
	// Static are the bridge's static entries towards the port: the bridge
	// sends frames for these MACs to the VXLAN device alone.
	Static []MAC
	// Learned are the bridge's learned entries towards the port, as read
	// from the kernel; in a wanted FDB it is ignored (nothing is learned
	// on purpose).
	Learned []MAC
}

// FDBOp is one change to a VXLAN device's own FDB (self) or to its
// bridge's FDB for the port (Master).
type FDBOp struct {
	Op     string // "replace", "append" or "del"
	Master bool   // the bridge's FDB rather than the device's own
	Entry  FDBEntry
}

func (o FDBOp) String() string {
	if o.Master {
		s := fmt.Sprintf("%s %s master", o.Op, o.Entry.MAC)
		if o.Op != "del" {
			s += " static"
		}
		return s
	}
	s := fmt.Sprintf("%s %s self", o.Op, o.Entry)
	if o.Op != "del" {
		s += " permanent"
	}
	return s
}

// DiffFDB returns the operations that turn have into want: first
// additions, so that no frame is ever without a path that it has now, then
// deletions, sorted. A unicast MAC has one destination, changed in place
// (replace: the kernel rewrites the MAC's first destination, so when it had
// only that one there is nothing left to delete); all-zeros entries are
// appended, one per destination. Bridge entries towards the port that are
// not wanted static go, learned ones included.
func DiffFDB(have, want FDB) []FDBOp {
	var adds, dels []FDBOp
	has := map[FDBEntry]bool{}
	dsts := map[MAC]int{}
	for _, e := range have.Self {
		has[e] = true
		dsts[e.MAC]++
	}
	wants := map[FDBEntry]bool{}
	replaced := map[MAC]bool{}
	for _, e := range want.Self {
		wants[e] = true
		switch {
		case has[e]:
		case e.MAC.IsZero():
			adds = append(adds, FDBOp{Op: "append", Entry: e})
		default:
			adds = append(adds, FDBOp{Op: "replace", Entry: e})
			replaced[e.MAC] = true
		}
	}
	for _, e := range have.Self {
		if wants[e] || (replaced[e.MAC] && dsts[e.MAC] == 1) {
			continue
		}
		dels = append(dels, FDBOp{Op: "del", Entry: e})
	}
	static := map[MAC]bool{}
	for _, m := range have.Static {
		static[m] = true
	}
	wantStatic := map[MAC]bool{}
	for _, m := range want.Static {
		wantStatic[m] = true
		if !static[m] {
			adds = append(adds, FDBOp{Op: "replace", Master: true, Entry: FDBEntry{MAC: m}})
		}
	}
	for _, m := range slices.Concat(have.Static, have.Learned) {
		if !wantStatic[m] {
			dels = append(dels, FDBOp{Op: "del", Master: true, Entry: FDBEntry{MAC: m}})
		}
	}
	slices.SortFunc(dels, func(a, b FDBOp) int {
		if a.Master != b.Master {
			if a.Master {
				return 1
			}
			return -1
		}
		return CompareFDB(a.Entry, b.Entry)
	})
	return append(adds, dels...)
}
