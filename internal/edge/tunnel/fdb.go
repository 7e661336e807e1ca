package tunnel

import (
	"fmt"
	"net/netip"
	"slices"

	"switchboard/internal/netdev"
)

// wantFDB returns the VXLAN FDB entries for remotes, sorted: one all-zeros
// entry per endpoint (head-end replication) and one per member MAC. It
// fails on an endpoint that is not a unicast address of local's family or
// is local itself, on a MAC that is not unicast, and on a MAC behind two
// endpoints.
func wantFDB(remotes []Remote, local netip.Addr) ([]netdev.FDBEntry, error) {
	seen := map[netdev.FDBEntry]bool{}
	where := map[netdev.MAC]netip.Addr{}
	var out []netdev.FDBEntry
	add := func(e netdev.FDBEntry) {
		if !seen[e] {
			seen[e] = true
			out = append(out, e)
		}
	}
	for _, r := range remotes {
		ep := r.Endpoint.Unmap()
		if !ep.IsValid() || ep.IsUnspecified() || ep.IsMulticast() || ep.Zone() != "" || ep.Is4() != local.Unmap().Is4() {
			return nil, fmt.Errorf("endpoint %q is not a unicast address of the WAN address's family", r.Endpoint)
		}
		if ep == local.Unmap() {
			return nil, fmt.Errorf("endpoint %q is the local WAN address", r.Endpoint)
		}
		add(netdev.FDBEntry{Dst: ep})
		for _, hw := range r.MACs {
			m, ok := netdev.MACOf(hw)
			if !ok || !m.IsUnicast() {
				return nil, fmt.Errorf("MAC %q behind %s is not a unicast Ethernet address", hw, ep)
			}
			if prev, dup := where[m]; dup && prev != ep {
				return nil, fmt.Errorf("MAC %s is behind both %s and %s", m, prev, ep)
			}
			where[m] = ep
			add(netdev.FDBEntry{MAC: m, Dst: ep})
		}
	}
	slices.SortFunc(out, netdev.CompareFDB)
	return out, nil
}
