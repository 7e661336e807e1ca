package netdev

import (
	"fmt"
	"maps"
	"net/netip"
	"slices"
)

// NeighEntry is a neighbour entry as the kernel holds it.
type NeighEntry struct {
	MAC       MAC
	Permanent bool
}

// NeighOp is one change to a device's neighbour table.
type NeighOp struct {
	Op  string // "replace" or "del"
	IP  netip.Addr
	MAC MAC
}

func (o NeighOp) String() string {
	if o.Op == "del" {
		return fmt.Sprintf("del %s", o.IP)
	}
	return fmt.Sprintf("%s %s lladdr %s nud permanent", o.Op, o.IP, o.MAC)
}

// DiffNeigh returns the operations that turn have into want: replacements
// of missing, different or non-permanent entries, then deletions, each in
// address order.
func DiffNeigh(have map[netip.Addr]NeighEntry, want map[netip.Addr]MAC) []NeighOp {
	var ops []NeighOp
	for _, ip := range slices.SortedFunc(maps.Keys(want), netip.Addr.Compare) {
		m := want[ip]
		if c, ok := have[ip]; ok && c.MAC == m && c.Permanent {
			continue
		}
		ops = append(ops, NeighOp{Op: "replace", IP: ip, MAC: m})
	}
	for _, ip := range slices.SortedFunc(maps.Keys(have), netip.Addr.Compare) {
		if _, ok := want[ip]; !ok {
			ops = append(ops, NeighOp{Op: "del", IP: ip})
		}
	}
	return ops
}
