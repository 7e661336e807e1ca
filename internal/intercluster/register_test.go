package intercluster

import (
	"testing"

	"switchboard/internal/dataplane"
)

// The operator tells the IDCO the cable's name; the agent's data plane
// makes the cable. The two must agree.
func TestEdgeCableMatchesDataplane(t *testing.T) {
	for _, vni := range []uint32{4096, 70000, 1<<24 - 1} {
		if got, want := EdgeCable(vni), dataplane.EdgeCableName(vni); got != want {
			t.Errorf("EdgeCable(%d) = %q, dataplane makes %q", vni, got, want)
		}
	}
}
