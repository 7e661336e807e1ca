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

// TestPortName: the parsing itself is devname's; here, only that the
// tunnel's names are its own.
func TestPortName(t *testing.T) {
	if got := PortName(MaxID); got != "sbwx16777215" {
		t.Errorf("PortName(MaxID) = %q", got)
	}
	if id, ok := ParsePortName(PortName(4096)); !ok || id != 4096 {
		t.Errorf("ParsePortName(PortName(4096)) = %d, %t", id, ok)
	}
	for _, name := range []string{"sbvx4096", "sbwb4096", "sbn4096"} {
		if _, ok := ParsePortName(name); ok {
			t.Errorf("ParsePortName(%q) accepted another kind's name", name)
		}
	}
}
