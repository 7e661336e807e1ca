package tunnel

import (
	"net/netip"
	"testing"

	"switchboard/internal/netdev"
)

// TestOverheadWithinInterClusterOverhead: the agent sizes inter-cluster
// networks with netdev.InterClusterOverhead; the WireGuard tunnel must add
// no more than that on either WAN family, or big frames would be dropped at
// the edge.
func TestOverheadWithinInterClusterOverhead(t *testing.T) {
	for _, wan := range []string{"198.18.0.1", "fd00:5::1"} {
		w := &WireGuard{wan: WAN{Local: netip.MustParseAddr(wan)}}
		if got := w.Overhead(); got > netdev.InterClusterOverhead || got < 100 {
			t.Errorf("WAN %s: WireGuard tunnel overhead %d, want within (100, %d]", wan, got, netdev.InterClusterOverhead)
		}
	}
}
