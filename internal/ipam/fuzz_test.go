package ipam

import (
	"net/netip"
	"testing"

	"switchboard/api/v1alpha1"
)

// FuzzNewPool checks that any spec either fails to parse or yields a pool
// whose candidates are distinct, allocatable and as many as Size says.
func FuzzNewPool(f *testing.F) {
	f.Add("10.0.0.0/28", "10.0.0.2", "10.0.0.12", "10.0.0.4/30", "10.0.0.1", uint64(7))
	f.Add("fd00::/120", "fd00::10", "fd00::20", "fd00::18", "", uint64(1))
	f.Add("10.0.0.5/24", "", "", "x", "y", uint64(0))
	f.Fuzz(func(t *testing.T, cidr, start, end, exclude, gateway string, seed uint64) {
		spec := v1alpha1.IPAM{CIDR: cidr, Gateway: gateway}
		if start != "" || end != "" {
			spec.Ranges = []v1alpha1.IPRange{{Start: start, End: end}}
		}
		if exclude != "" {
			spec.Exclude = []string{exclude}
		}
		p, err := NewPool(spec)
		if err != nil {
			return
		}
		if p.Size() == 0 {
			t.Fatalf("NewPool(%+v) gave an empty pool", spec)
		}
		const limit = 4096
		seen := map[netip.Addr]bool{}
		for a := range p.Candidates(seed) {
			if seen[a] {
				t.Fatalf("candidate %s twice", a)
			}
			seen[a] = true
			if err := p.Check(a); err != nil {
				t.Fatalf("candidate %s: %v", a, err)
			}
			if len(seen) == limit {
				break
			}
		}
		if want := min(p.Size(), limit); uint64(len(seen)) != want {
			t.Fatalf("%d candidates, want %d", len(seen), want)
		}
	})
}
