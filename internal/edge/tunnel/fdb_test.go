package tunnel

import (
	"net"
	"net/netip"
	"strings"
	"testing"
)

var (
	local = netip.MustParseAddr("198.19.0.1")
	epB   = netip.MustParseAddr("198.19.0.2")
	epC   = netip.MustParseAddr("198.19.0.3")
	mac1  = net.HardwareAddr{2, 0, 0, 0, 0, 1}
	mac2  = net.HardwareAddr{2, 0, 0, 0, 0, 2}
)

func entry(m net.HardwareAddr, dst netip.Addr) fdbEntry {
	e := fdbEntry{Dst: dst}
	if m != nil {
		e.MAC, _ = macOf(m)
	}
	return e
}

func lines[T interface{ String() string }](xs []T) string {
	var out []string
	for _, x := range xs {
		out = append(out, x.String())
	}
	return strings.Join(out, "; ")
}

func TestWantFDB(t *testing.T) {
	for _, tc := range []struct {
		name    string
		remotes []Remote
		want    string // entries, or the error's text
	}{
		{"none", nil, ""},
		{"endpoints only", []Remote{{Endpoint: epC}, {Endpoint: epB}},
			"00:00:00:00:00:00 dst 198.19.0.2; 00:00:00:00:00:00 dst 198.19.0.3"},
		{"MACs", []Remote{{Endpoint: epB, MACs: []net.HardwareAddr{mac2, mac1}}},
			"00:00:00:00:00:00 dst 198.19.0.2; 02:00:00:00:00:01 dst 198.19.0.2; 02:00:00:00:00:02 dst 198.19.0.2"},
		{"same endpoint twice", []Remote{{Endpoint: epB, MACs: []net.HardwareAddr{mac1}}, {Endpoint: epB, MACs: []net.HardwareAddr{mac1}}},
			"00:00:00:00:00:00 dst 198.19.0.2; 02:00:00:00:00:01 dst 198.19.0.2"},
		{"mapped endpoint", []Remote{{Endpoint: netip.MustParseAddr("::ffff:198.19.0.2")}}, "00:00:00:00:00:00 dst 198.19.0.2"},
		{"MAC behind two", []Remote{{Endpoint: epB, MACs: []net.HardwareAddr{mac1}}, {Endpoint: epC, MACs: []net.HardwareAddr{mac1}}}, "behind both"},
		{"multicast MAC", []Remote{{Endpoint: epB, MACs: []net.HardwareAddr{{1, 0, 0x5e, 0, 0, 1}}}}, "not a unicast Ethernet"},
		{"short MAC", []Remote{{Endpoint: epB, MACs: []net.HardwareAddr{{2, 0}}}}, "not a unicast Ethernet"},
		{"local", []Remote{{Endpoint: local}}, "is the local"},
		{"IPv6", []Remote{{Endpoint: netip.MustParseAddr("fd00::2")}}, "family"},
		{"no endpoint", []Remote{{}}, "not a unicast address"},
		{"multicast", []Remote{{Endpoint: netip.MustParseAddr("239.1.1.1")}}, "not a unicast address"},
	} {
		got, err := wantFDB(tc.remotes, local)
		text := lines(got)
		if err != nil {
			text = err.Error()
		}
		if (tc.want == "" && text != "") || !strings.Contains(text, tc.want) {
			t.Errorf("%s: wantFDB = %q, want %q", tc.name, text, tc.want)
		}
	}
}

func TestDiffFDB(t *testing.T) {
	zeroB, zeroC := entry(nil, epB), entry(nil, epC)
	m1B, m1C, m2B := entry(mac1, epB), entry(mac1, epC), entry(mac2, epB)
	for _, tc := range []struct {
		name       string
		have, want []fdbEntry
		ops        string
	}{
		{"same", []fdbEntry{zeroB, m1B}, []fdbEntry{zeroB, m1B}, ""},
		{"from nothing", nil, []fdbEntry{zeroB, zeroC, m1B},
			"append 00:00:00:00:00:00 dst 198.19.0.2; append 00:00:00:00:00:00 dst 198.19.0.3; replace 02:00:00:00:00:01 dst 198.19.0.2"},
		{"to nothing", []fdbEntry{m2B, zeroB, m1B}, nil,
			"del 00:00:00:00:00:00 dst 198.19.0.2; del 02:00:00:00:00:01 dst 198.19.0.2; del 02:00:00:00:00:02 dst 198.19.0.2"},
		{"endpoint leaves", []fdbEntry{zeroB, zeroC, m1C}, []fdbEntry{zeroB},
			"del 00:00:00:00:00:00 dst 198.19.0.3; del 02:00:00:00:00:01 dst 198.19.0.3"},
		{"MAC moves: replace first, then the old entry's delete finds nothing",
			[]fdbEntry{zeroB, zeroC, m1B}, []fdbEntry{zeroB, zeroC, m1C},
			"replace 02:00:00:00:00:01 dst 198.19.0.3; del 02:00:00:00:00:01 dst 198.19.0.2"},
	} {
		if got := lines(diffFDB(tc.have, tc.want)); got != tc.ops {
			t.Errorf("%s:\n got %s\nwant %s", tc.name, got, tc.ops)
		}
	}
}

func TestPortName(t *testing.T) {
	if got := PortName(MaxID); got != "sbwx16777215" || len(got) > 15 {
		t.Errorf("PortName(MaxID) = %q", got)
	}
	for _, tc := range []struct {
		name string
		id   uint32
		ok   bool
	}{
		{"sbwx4096", 4096, true},
		{"sbwx0", 0, true},
		{"sbwx16777215", MaxID, true},
		{"sbwx16777216", 0, false},
		{"sbwx04096", 0, false},
		{"sbwx", 0, false},
		{"sbwx+1", 0, false},
		{"sbvx4096", 0, false},
		{"sbwb4096", 0, false},
	} {
		id, ok := ParsePortName(tc.name)
		if id != tc.id || ok != tc.ok {
			t.Errorf("ParsePortName(%q) = %d, %t; want %d, %t", tc.name, id, ok, tc.id, tc.ok)
		}
	}
}
