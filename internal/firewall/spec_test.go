package firewall

import (
	"net/netip"
	"slices"
	"strings"
	"testing"
)

func pfx(s ...string) []netip.Prefix {
	var out []netip.Prefix
	for _, x := range s {
		out = append(out, netip.MustParsePrefix(x))
	}
	return out
}

func TestValidate(t *testing.T) {
	udp := UDPDport(4789)
	ok := Spec{
		Sets:   []Set{{Name: "n4", Type: IPv4, Elements: pfx("198.18.0.1/32")}},
		Chains: []Chain{{Name: "input", Hook: Input, Rules: []Rule{{Match: []Match{udp, SAddrIn(IPv4, "n4")}, Verdict: Accept}}}},
	}
	if err := ok.Validate(); err != nil {
		t.Fatalf("valid spec: %v", err)
	}
	for _, tc := range []struct {
		name string
		edit func(*Spec)
		want string
	}{
		{"bad set name", func(s *Spec) { s.Sets[0].Name = "1x" }, `invalid name "1x"`},
		{"duplicate set", func(s *Spec) { s.Sets = append(s.Sets, s.Sets[0]) }, `set "n4": defined twice`},
		{"set type", func(s *Spec) { s.Sets[0].Type = 0 }, "invalid type"},
		{"IPv6 in IPv4 set", func(s *Spec) { s.Sets[0].Elements = pfx("fd00::1/128") }, "is not of type ipv4_addr"},
		{"prefix in plain set", func(s *Spec) { s.Sets[0].Elements = pfx("10.0.0.0/8") }, "make the set an Interval set"},
		{"bad chain name", func(s *Spec) { s.Chains[0].Name = "a b" }, `invalid name "a b"`},
		{"duplicate chain", func(s *Spec) { s.Chains = append(s.Chains, s.Chains[0]) }, `chain "input": defined twice`},
		{"hook", func(s *Spec) { s.Chains[0].Hook = 0 }, "invalid hook"},
		{"verdict", func(s *Spec) { s.Chains[0].Rules[0].Verdict = 0 }, "invalid verdict"},
		{"no match", func(s *Spec) { s.Chains[0].Rules[0].Match = nil }, "no match"},
		{"zero match", func(s *Spec) { s.Chains[0].Rules[0].Match = []Match{{}} }, "empty match"},
		{"unknown set", func(s *Spec) { s.Chains[0].Rules[0].Match = []Match{SAddrIn(IPv4, "x")} }, `the spec has no set "x"`},
		{"set of other type", func(s *Spec) { s.Chains[0].Rules[0].Match = []Match{SAddrNotIn(IPv6, "n4")} }, `set "n4" holds ipv4_addr, not ipv6_addr`},
		{"interface pattern", func(s *Spec) { s.Chains[0].Rules[0].Match = []Match{IifName("*")} }, `invalid interface pattern "*"`},
		{"long interface", func(s *Spec) { s.Chains[0].Rules[0].Match = []Match{IifName("abcdefghijklmnop")} }, "invalid interface pattern"},
		{"comment", func(s *Spec) { s.Chains[0].Rules[0].Comment = strings.Repeat("x", 129) }, "comment of 129 bytes"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := ok
			s.Sets = slices.Clone(ok.Sets)
			s.Chains = slices.Clone(ok.Chains)
			s.Chains[0].Rules = slices.Clone(ok.Chains[0].Rules)
			tc.edit(&s)
			err := s.Validate()
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Validate = %v, want an error with %q", err, tc.want)
			}
		})
	}
}

// Interval sets are sent as start keys and flagged end keys (the address
// after the range), with nested and adjacent prefixes merged; a range that
// reaches the family's last address has no end key.
func TestElements(t *testing.T) {
	for _, tc := range []struct {
		set  Set
		want string // key, or end key after "<"
	}{
		{Set{Type: IPv4, Elements: pfx("198.18.0.2/32", "198.18.0.1/32", "198.18.0.2/32")}, "198.18.0.1 198.18.0.2"},
		{Set{Type: IPv4, Interval: true, Elements: pfx("10.1.0.0/24", "10.0.0.0/24", "10.0.0.128/25", "10.0.1.0/24")}, "10.0.0.0 <10.0.2.0 10.1.0.0 <10.1.1.0"},
		{Set{Type: IPv4, Interval: true, Elements: pfx("255.255.255.0/24", "10.0.0.5/32")}, "10.0.0.5 <10.0.0.6 255.255.255.0"},
		{Set{Type: IPv6, Interval: true, Elements: pfx("fd00::/64", "fd00:0:0:1::/64")}, "fd00:: <fd00:0:0:2::"},
		{Set{Type: IPv4, Interval: true}, ""},
	} {
		var got []string
		for _, e := range elements(tc.set) {
			a, _ := netip.AddrFromSlice(e.Key)
			s := a.String()
			if e.IntervalEnd {
				s = "<" + s
			}
			got = append(got, s)
		}
		if g := strings.Join(got, " "); g != tc.want {
			t.Errorf("elements(%v) = %q, want %q", tc.set.Elements, g, tc.want)
		}
	}
}

func TestRangeString(t *testing.T) {
	for _, tc := range []struct {
		in   []netip.Prefix
		want string
	}{
		{pfx("10.0.0.0/24", "10.0.1.0/24"), "10.0.0.0/23"},
		{pfx("10.0.0.0/24", "10.0.1.0/24", "10.0.2.0/24"), "10.0.0.0-10.0.2.255"},
		{pfx("10.0.0.7/32"), "10.0.0.7"},
	} {
		var got []string
		for _, r := range ranges(tc.in) {
			got = append(got, r.String())
		}
		if g := strings.Join(got, ","); g != tc.want {
			t.Errorf("ranges(%v) = %s, want %s", tc.in, g, tc.want)
		}
	}
}

func TestPriorityString(t *testing.T) {
	for p, want := range map[int]string{0: "filter", -10: "filter - 10", 110: "srcnat + 10", -110: "dstnat - 10", -300: "raw", 1000: "1000"} {
		if got := priorityString(p); got != want {
			t.Errorf("priorityString(%d) = %q, want %q", p, got, want)
		}
	}
}
