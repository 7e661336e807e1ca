package devname

import (
	"fmt"
	"testing"
)

var numbered = []string{PrefixBridge, PrefixVXLAN, PrefixEdgePort, PrefixEdgeCable, PrefixLinkBridge, PrefixTunnelPort}

func TestParseNumbered(t *testing.T) {
	for _, tc := range []struct {
		name string
		n    uint32
		ok   bool
	}{
		{"sbwx4096", 4096, true},
		{"sbwx0", 0, true},
		{"sbwx16777215", MaxVNI, true},
		{"sbwx16777216", 0, false},
		{"sbwx04096", 0, false},
		{"sbwx", 0, false},
		{"sbwx+1", 0, false},
		{"sbwx-1", 0, false},
		{"sbwx 1", 0, false},
		{"sbvx4096", 0, false},
		{"xsbwx1", 0, false},
	} {
		n, ok := ParseNumbered(PrefixTunnelPort, tc.name)
		if n != tc.n || ok != tc.ok {
			t.Errorf("ParseNumbered(%q, %q) = %d, %t; want %d, %t", PrefixTunnelPort, tc.name, n, ok, tc.n, tc.ok)
		}
	}
	if got := EdgeCable(4096); got != "sbn4096" {
		t.Errorf("EdgeCable(4096) = %q, want sbn4096", got)
	}
}

// TestNoNameReadsAsAnother: the agent's and the edge's devices share the
// gateway's namespace, and each side finds its own devices by name, so a
// name of one kind must never parse as a name of another, and every name
// must fit IFNAMSIZ-1.
func TestNoNameReadsAsAnother(t *testing.T) {
	for _, p := range numbered {
		for _, n := range []uint32{0, 7, 4096, MaxVNI} {
			name := Numbered(p, n)
			if len(name) > 15 {
				t.Errorf("%q is longer than IFNAMSIZ-1", name)
			}
			if got, ok := ParseNumbered(p, name); !ok || got != n {
				t.Errorf("%q does not round-trip: %d, %t", name, got, ok)
			}
			for _, q := range numbered {
				if _, ok := ParseNumbered(q, name); ok && q != p {
					t.Errorf("%q, a %s name, parses as a %s name", name, p, q)
				}
			}
		}
	}
	// A pod port is "sbv" and 11 hex digits: never a number after any
	// prefix, and never starting like another prefix.
	for _, n := range []uint64{0, 0xabcdef12345, 0xfffffffffff} {
		name := fmt.Sprintf("%s%011x", PrefixPodPort, n)
		for _, q := range numbered {
			if _, ok := ParseNumbered(q, name); ok {
				t.Errorf("pod port %q parses as a %s name", name, q)
			}
		}
	}
}
