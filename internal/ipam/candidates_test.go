package ipam

import (
	"net/netip"
	"slices"
	"testing"

	"switchboard/api/v1alpha1"
)

// collect takes up to limit candidates.
func collect(p *Pool, seed uint64, limit int) []netip.Addr {
	var out []netip.Addr
	for a := range p.Candidates(seed) {
		out = append(out, a)
		if len(out) == limit {
			break
		}
	}
	return out
}

func TestCandidatesExactlyOnce(t *testing.T) {
	r := func(s, e string) v1alpha1.IPRange { return v1alpha1.IPRange{Start: s, End: e} }
	tests := []struct {
		name string
		spec v1alpha1.IPAM
		want []string // the allocatable set, in address order
	}{
		{"v4 /29", v1alpha1.IPAM{CIDR: "10.0.0.0/29"},
			[]string{"10.0.0.1", "10.0.0.2", "10.0.0.3", "10.0.0.4", "10.0.0.5", "10.0.0.6"}},
		{"gateway and excludes", v1alpha1.IPAM{CIDR: "10.0.0.0/28", Gateway: "10.0.0.1", Exclude: []string{"10.0.0.4/30", "10.0.0.10"}},
			[]string{"10.0.0.2", "10.0.0.3", "10.0.0.8", "10.0.0.9", "10.0.0.11", "10.0.0.12", "10.0.0.13", "10.0.0.14"}},
		{"ranges out of order with an exclude across them", v1alpha1.IPAM{CIDR: "10.0.0.0/24",
			Ranges: []v1alpha1.IPRange{r("10.0.0.250", "10.0.0.255"), r("10.0.0.0", "10.0.0.3")}, Exclude: []string{"10.0.0.252/31"}},
			[]string{"10.0.0.1", "10.0.0.2", "10.0.0.3", "10.0.0.250", "10.0.0.251", "10.0.0.254"}},
		{"v4 /31", v1alpha1.IPAM{CIDR: "192.168.0.0/31"}, []string{"192.168.0.0", "192.168.0.1"}},
		{"v6 /125", v1alpha1.IPAM{CIDR: "fd00::/125", Exclude: []string{"fd00::3"}},
			[]string{"fd00::1", "fd00::2", "fd00::4", "fd00::5", "fd00::6", "fd00::7"}},
		{"v6 range at the top of the space", v1alpha1.IPAM{CIDR: "ffff:ffff:ffff:ffff:ffff:ffff:ffff:fff0/124",
			Ranges: []v1alpha1.IPRange{r("ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffd", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff")}},
			[]string{"ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffd", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := NewPool(tt.spec)
			if err != nil {
				t.Fatal(err)
			}
			if p.Size() != uint64(len(tt.want)) {
				t.Fatalf("Size() = %d, want %d", p.Size(), len(tt.want))
			}
			starts := map[netip.Addr]bool{}
			for seed := range uint64(64) {
				got := collect(p, seed, 1000)
				starts[got[0]] = true
				// A rotation of the allocatable set: sorted, it is the set.
				sorted := slices.Clone(got)
				slices.SortFunc(sorted, netip.Addr.Compare)
				if !equal(sorted, tt.want) {
					t.Fatalf("seed %d: candidates %v, want each of %v once", seed, got, tt.want)
				}
				// Address order, wrapping once from the end to the start.
				i := slices.Index(sorted, got[0])
				if !slices.Equal(got, append(sorted[i:], sorted[:i]...)) {
					t.Fatalf("seed %d: candidates %v are not in wrapped address order", seed, got)
				}
				for _, a := range got {
					if err := p.Check(a); err != nil {
						t.Fatalf("candidate %s: Check: %v", a, err)
					}
				}
			}
			if len(tt.want) > 2 && len(starts) < 2 {
				t.Errorf("64 seeds all started at %v: want starting points spread over the pool", starts)
			}
		})
	}
}

func equal(got []netip.Addr, want []string) bool {
	if len(got) != len(want) {
		return false
	}
	for i := range got {
		if got[i] != netip.MustParseAddr(want[i]) {
			return false
		}
	}
	return true
}

func TestCandidatesLargeV6(t *testing.T) {
	p, err := NewPool(v1alpha1.IPAM{CIDR: "fd00:20::/64", Gateway: "fd00:20::1", Exclude: []string{"fd00:20::/72"}})
	if err != nil {
		t.Fatal(err)
	}
	if p.Size() != 1<<64-1<<56 {
		t.Fatalf("Size() = %d, want 2^64-2^56", p.Size())
	}
	seen := map[netip.Addr]bool{}
	for seed := range uint64(200) {
		got := collect(p, seed, 50)
		if len(got) != 50 {
			t.Fatalf("seed %d: %d candidates, want 50", seed, len(got))
		}
		for i, a := range got {
			if err := p.Check(a); err != nil {
				t.Fatalf("seed %d: candidate %s: %v", seed, a, err)
			}
			if i > 0 && got[i-1].Next() != a {
				t.Fatalf("seed %d: %s follows %s", seed, a, got[i-1])
			}
		}
		seen[got[0]] = true
	}
	if len(seen) != 200 {
		t.Errorf("200 seeds gave %d distinct starting points, want 200", len(seen))
	}
}

func TestCandidatesWrapAroundFromTheLastAddress(t *testing.T) {
	p, err := NewPool(v1alpha1.IPAM{CIDR: "10.0.0.0/29"})
	if err != nil {
		t.Fatal(err)
	}
	// Find a seed that starts at the last address; the next one must be the first.
	for seed := range uint64(1000) {
		got := collect(p, seed, 2)
		if got[0] == netip.MustParseAddr("10.0.0.6") {
			if got[1] != netip.MustParseAddr("10.0.0.1") {
				t.Fatalf("after the last address came %s, want 10.0.0.1", got[1])
			}
			return
		}
	}
	t.Fatal("no seed in 0..999 started at the last address")
}
