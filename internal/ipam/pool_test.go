package ipam

import (
	"net/netip"
	"strings"
	"testing"

	"switchboard/api/v1alpha1"
)

func TestNewPoolErrors(t *testing.T) {
	r := func(s, e string) v1alpha1.IPRange { return v1alpha1.IPRange{Start: s, End: e} }
	tests := []struct {
		name string
		spec v1alpha1.IPAM
		want string
	}{
		{"empty cidr", v1alpha1.IPAM{}, "ipam.cidr is required (e.g. 10.20.0.0/24)"},
		{"bad length", v1alpha1.IPAM{CIDR: "10.0.0.0/33"}, `ipam.cidr "10.0.0.0/33": not a CIDR (e.g. 10.20.0.0/24)`},
		{"not a cidr", v1alpha1.IPAM{CIDR: "red"}, `ipam.cidr "red": not a CIDR (e.g. 10.20.0.0/24)`},
		{"bare address", v1alpha1.IPAM{CIDR: "10.0.0.1"}, `ipam.cidr "10.0.0.1": not a CIDR (e.g. 10.20.0.0/24)`},
		{"host bits", v1alpha1.IPAM{CIDR: "10.0.0.5/24"}, "ipam.cidr 10.0.0.5/24 has host bits set: use 10.0.0.0/24"},
		{"host bits v6", v1alpha1.IPAM{CIDR: "fd00::1/64"}, "ipam.cidr fd00::1/64 has host bits set: use fd00::/64"},
		{"4in6", v1alpha1.IPAM{CIDR: "::ffff:10.0.0.0/120"}, "IPv4-mapped IPv6 is not supported"},
		{"range start outside", v1alpha1.IPAM{CIDR: "10.0.0.0/24", Ranges: []v1alpha1.IPRange{r("10.0.0.1", "10.0.0.9"), r("10.0.1.5", "10.0.1.9")}},
			"ipam.ranges[1].start: 10.0.1.5 is outside ipam.cidr 10.0.0.0/24"},
		{"range end outside", v1alpha1.IPAM{CIDR: "10.0.0.0/24", Ranges: []v1alpha1.IPRange{r("10.0.0.1", "10.0.1.9")}},
			"ipam.ranges[0].end: 10.0.1.9 is outside ipam.cidr 10.0.0.0/24"},
		{"range not an ip", v1alpha1.IPAM{CIDR: "10.0.0.0/24", Ranges: []v1alpha1.IPRange{r("ten", "10.0.0.9")}},
			`ipam.ranges[0].start "ten": not an IP address (e.g. 10.0.0.1)`},
		{"range with zone", v1alpha1.IPAM{CIDR: "fe80::/64", Ranges: []v1alpha1.IPRange{r("fe80::1%eth0", "fe80::9")}},
			`ipam.ranges[0].start "fe80::1%eth0": not an IP address (e.g. fe80::1)`},
		{"range reversed", v1alpha1.IPAM{CIDR: "10.0.0.0/24", Ranges: []v1alpha1.IPRange{r("10.0.0.9", "10.0.0.5")}},
			"ipam.ranges[0]: start 10.0.0.9 is after end 10.0.0.5: swap them"},
		{"range mixed family", v1alpha1.IPAM{CIDR: "10.0.0.0/24", Ranges: []v1alpha1.IPRange{r("fd00::1", "fd00::9")}},
			"ipam.ranges[0].start fd00::1 is IPv6 but ipam.cidr 10.0.0.0/24 is IPv4: use addresses of one family"},
		{"ranges overlap", v1alpha1.IPAM{CIDR: "10.0.0.0/24", Ranges: []v1alpha1.IPRange{r("10.0.0.1", "10.0.0.10"), r("10.0.0.5", "10.0.0.20")}},
			"ipam.ranges[1] (10.0.0.5-10.0.0.20) overlaps ipam.ranges[0] (10.0.0.1-10.0.0.10): merge them or make them disjoint"},
		{"ranges touch at one address", v1alpha1.IPAM{CIDR: "10.0.0.0/24", Ranges: []v1alpha1.IPRange{r("10.0.0.10", "10.0.0.20"), r("10.0.0.1", "10.0.0.10")}},
			"ipam.ranges[1] (10.0.0.1-10.0.0.10) overlaps ipam.ranges[0] (10.0.0.10-10.0.0.20)"},
		{"exclude garbage", v1alpha1.IPAM{CIDR: "10.0.0.0/24", Exclude: []string{"10.0.0.1", "some"}},
			`ipam.exclude[1] "some": not an IP or CIDR (e.g. 10.0.0.1 or 10.0.0.0/24)`},
		{"exclude bad cidr", v1alpha1.IPAM{CIDR: "10.0.0.0/24", Exclude: []string{"10.0.0.0/40"}},
			`ipam.exclude[0] "10.0.0.0/40": not an IP or CIDR`},
		{"exclude host bits", v1alpha1.IPAM{CIDR: "10.0.0.0/24", Exclude: []string{"10.0.0.5/28"}},
			"ipam.exclude[0] 10.0.0.5/28 has host bits set: use 10.0.0.0/28"},
		{"exclude mixed family", v1alpha1.IPAM{CIDR: "fd00::/64", Exclude: []string{"10.0.0.1"}},
			"ipam.exclude[0] 10.0.0.1 is IPv4 but ipam.cidr fd00::/64 is IPv6: use addresses of one family"},
		{"exclude outside", v1alpha1.IPAM{CIDR: "10.0.0.0/24", Exclude: []string{"10.0.1.0/28"}},
			"ipam.exclude[0] 10.0.1.0/28 is outside ipam.cidr 10.0.0.0/24: remove it or correct it"},
		{"gateway garbage", v1alpha1.IPAM{CIDR: "10.0.0.0/24", Gateway: "gw"}, `ipam.gateway "gw": not an IP address (e.g. 10.0.0.1)`},
		{"gateway outside", v1alpha1.IPAM{CIDR: "10.0.0.0/24", Gateway: "10.0.1.1"}, "ipam.gateway: 10.0.1.1 is outside ipam.cidr 10.0.0.0/24"},
		{"gateway mixed family", v1alpha1.IPAM{CIDR: "10.0.0.0/24", Gateway: "fd00::1"},
			"ipam.gateway fd00::1 is IPv6 but ipam.cidr 10.0.0.0/24 is IPv4"},
		{"gateway network address", v1alpha1.IPAM{CIDR: "10.0.0.0/24", Gateway: "10.0.0.0"},
			"ipam.gateway 10.0.0.0 is the network address of 10.0.0.0/24: use a host address such as 10.0.0.1"},
		{"gateway broadcast", v1alpha1.IPAM{CIDR: "10.0.0.0/24", Gateway: "10.0.0.255"},
			"ipam.gateway 10.0.0.255 is the broadcast address of 10.0.0.0/24"},
		{"nothing left", v1alpha1.IPAM{CIDR: "10.0.0.0/30", Gateway: "10.0.0.1", Exclude: []string{"10.0.0.2"}},
			"ipam leaves no address to allocate in 10.0.0.0/30"},
		{"range wholly excluded", v1alpha1.IPAM{CIDR: "10.0.0.0/24", Ranges: []v1alpha1.IPRange{r("10.0.0.16", "10.0.0.31")}, Exclude: []string{"10.0.0.16/28"}},
			"ipam leaves no address to allocate"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := NewPool(tt.spec)
			if err == nil {
				t.Fatalf("NewPool(%+v) = %v, want error containing %q", tt.spec, p.Prefix(), tt.want)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("NewPool(%+v) error\n got: %v\nwant: %s", tt.spec, err, tt.want)
			}
		})
	}
}

func TestPoolBasics(t *testing.T) {
	tests := []struct {
		spec    v1alpha1.IPAM
		size    uint64
		gateway string
	}{
		{v1alpha1.IPAM{CIDR: "10.0.0.0/24"}, 254, ""},
		{v1alpha1.IPAM{CIDR: "10.0.0.0/24", Gateway: "10.0.0.1"}, 253, "10.0.0.1"},
		{v1alpha1.IPAM{CIDR: "10.0.0.0/24", Exclude: []string{"10.0.0.0/28", "10.0.0.200"}}, 254 - 15 - 1, ""},
		{v1alpha1.IPAM{CIDR: "10.0.0.0/31"}, 2, ""},
		{v1alpha1.IPAM{CIDR: "10.0.0.7/32"}, 1, ""},
		{v1alpha1.IPAM{CIDR: "fd00::/120"}, 255, ""},
		{v1alpha1.IPAM{CIDR: "fd00::/64"}, 1<<64 - 1, ""},
		{v1alpha1.IPAM{CIDR: "fd00::/48"}, 1<<64 - 1, ""}, // saturates
		{v1alpha1.IPAM{CIDR: "::/0"}, 1<<64 - 1, ""},
		{v1alpha1.IPAM{CIDR: "10.0.0.0/24", Ranges: []v1alpha1.IPRange{{Start: "10.0.0.0", End: "10.0.0.9"}, {Start: "10.0.0.250", End: "10.0.0.255"}}}, 9 + 5, ""},
	}
	for _, tt := range tests {
		p, err := NewPool(tt.spec)
		if err != nil {
			t.Fatalf("NewPool(%+v): %v", tt.spec, err)
		}
		if got := p.Size(); got != tt.size {
			t.Errorf("NewPool(%+v).Size() = %d, want %d", tt.spec, got, tt.size)
		}
		if got := p.Prefix().String(); got != tt.spec.CIDR {
			t.Errorf("Prefix() = %s, want %s", got, tt.spec.CIDR)
		}
		var gw string
		if p.Gateway().IsValid() {
			gw = p.Gateway().String()
		}
		if gw != tt.gateway {
			t.Errorf("Gateway() = %q, want %q", gw, tt.gateway)
		}
	}
}

func TestCheck(t *testing.T) {
	p, err := NewPool(v1alpha1.IPAM{
		CIDR:    "10.0.0.0/24",
		Ranges:  []v1alpha1.IPRange{{Start: "10.0.0.1", End: "10.0.0.100"}, {Start: "10.0.0.200", End: "10.0.0.255"}},
		Exclude: []string{"10.0.0.50", "10.0.0.64/29"},
		Gateway: "10.0.0.1",
	})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		addr string
		want string // "" means allocatable
	}{
		{"10.0.0.2", ""},
		{"10.0.0.100", ""},
		{"10.0.0.254", ""},
		{"10.0.1.5", "10.0.1.5 is outside ipam.cidr 10.0.0.0/24"},
		{"fd00::5", "fd00::5 is outside ipam.cidr 10.0.0.0/24"},
		{"::ffff:10.0.0.5", "::ffff:10.0.0.5 is outside ipam.cidr 10.0.0.0/24"},
		{"10.0.0.0", "10.0.0.0 is the network address of 10.0.0.0/24"},
		{"10.0.0.255", "10.0.0.255 is the broadcast address of 10.0.0.0/24"},
		{"10.0.0.1", "10.0.0.1 is the gateway (ipam.gateway)"},
		{"10.0.0.50", "10.0.0.50 is excluded by ipam.exclude[0] (10.0.0.50)"},
		{"10.0.0.70", "10.0.0.70 is excluded by ipam.exclude[1] (10.0.0.64/29)"},
		{"10.0.0.150", "10.0.0.150 is outside every range of ipam.ranges"},
	}
	for _, tt := range tests {
		err := p.Check(netip.MustParseAddr(tt.addr))
		got := ""
		if err != nil {
			got = err.Error()
		}
		if got != tt.want {
			t.Errorf("Check(%s) = %q, want %q", tt.addr, got, tt.want)
		}
	}
	if err := p.Check(netip.Addr{}); err == nil {
		t.Error("Check(zero Addr) = nil, want an error")
	}
}

func TestOverlaps(t *testing.T) {
	p, err := NewPool(v1alpha1.IPAM{CIDR: "10.244.3.0/24"})
	if err != nil {
		t.Fatal(err)
	}
	for q, want := range map[string]bool{
		"10.244.0.0/16":   true,
		"10.244.3.128/25": true,
		"10.244.4.0/24":   false,
		"10.96.0.0/12":    false,
		"fd00::/8":        false,
	} {
		if got := p.Overlaps(netip.MustParsePrefix(q)); got != want {
			t.Errorf("Overlaps(%s) = %v, want %v", q, got, want)
		}
	}
}

func TestAttachmentName(t *testing.T) {
	tests := []struct{ network, addr, want string }{
		{"red", "10.20.0.5", "red-10-20-0-5"},
		{"blue", "fd00::5", "blue-fd00-0000-0000-0000-0000-0000-0000-0005"},
		{"blue", "FD00:0:0:0:0:0:0:5", "blue-fd00-0000-0000-0000-0000-0000-0000-0005"},
		{"ll", "fe80::1%eth0", "ll-fe80-0000-0000-0000-0000-0000-0000-0001"},
	}
	for _, tt := range tests {
		if got := AttachmentName(tt.network, netip.MustParseAddr(tt.addr)); got != tt.want {
			t.Errorf("AttachmentName(%q, %s) = %q, want %q", tt.network, tt.addr, got, tt.want)
		}
	}
}
