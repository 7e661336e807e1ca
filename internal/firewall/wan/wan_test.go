package wan_test

import (
	"net/netip"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"switchboard/internal/firewall"
	"switchboard/internal/firewall/wan"
	"switchboard/internal/netnstest"
)

func TestSpecText(t *testing.T) {
	s, err := wan.Spec(4790, "sbwg0", "sbwg0r")
	if err != nil {
		t.Fatal(err)
	}
	want := `udp dport 4790 iifname != "sbwg0" iifname != "sbwg0r" counter drop comment "inner VXLAN only through WireGuard"`
	if !strings.Contains(s.String(), want) {
		t.Errorf("spec:\n%s\nwant a rule %s", s, want)
	}
	if _, err := wan.Spec(4790); err == nil {
		t.Error("Spec without an interface succeeded")
	}
}

// TestInnerPortOnlyThroughWireGuard: in a gateway namespace with the table,
// a datagram to the inner port from the WAN is dropped, while one that
// arrives on either named interface gets through (the positive control:
// here veths play the WireGuard interface and its injector); without the
// table, the WAN's gets through too (the probe could have succeeded).
func TestInnerPortOnlyThroughWireGuard(t *testing.T) {
	netnstest.RequireRoot(t)
	env := netnstest.NewPrefixed(t, "sbfe")
	gw, wanHost, peer, inj := env.NS("gw"), env.NS("wan"), env.NS("peer"), env.NS("inj")
	netnstest.Veth(t,
		netnstest.End{NS: gw, Name: "wan0", Addr: netip.MustParsePrefix("198.18.71.1/24")},
		netnstest.End{NS: wanHost, Name: "eth0", Addr: netip.MustParsePrefix("198.18.71.2/24")})
	netnstest.Veth(t,
		netnstest.End{NS: gw, Name: "sbwgt", Addr: netip.MustParsePrefix("198.18.72.1/24")},
		netnstest.End{NS: peer, Name: "eth0", Addr: netip.MustParsePrefix("198.18.72.2/24")})
	netnstest.Veth(t,
		netnstest.End{NS: gw, Name: "sbwgtr", Addr: netip.MustParsePrefix("198.18.73.1/24")},
		netnstest.End{NS: inj, Name: "eth0", Addr: netip.MustParsePrefix("198.18.73.2/24")})
	ln := gw.ListenUDP(t, 4790)
	// send sends each datagram (from, destination, payload) and returns
	// what arrives until the controls have (generously: a loaded machine).
	type datagram struct {
		from     *netnstest.NS
		dst, msg string
	}
	send := func(controls []string, ds ...datagram) []string {
		for _, d := range ds {
			d.from.SendUDP(t, netip.MustParseAddrPort(d.dst+":4790"), d.msg)
		}
		return netnstest.ReceivedAll(ln, 10*time.Second, controls...)
	}
	if got := send([]string{"before"}, datagram{wanHost, "198.18.71.1", "before"}); !slices.Contains(got, "before") {
		t.Fatalf("without the table the WAN's datagram did not arrive (%v): the probe proves nothing", got)
	}

	fd, err := os.Open(gw.Path)
	if err != nil {
		t.Fatal(err)
	}
	defer fd.Close()
	tbl, err := firewall.New(wan.Family, wan.TableName, firewall.WithNetNS(int(fd.Fd())))
	if err != nil {
		t.Fatal(err)
	}
	spec, err := wan.Spec(4790, "sbwgt", "sbwgtr")
	if err != nil {
		t.Fatal(err)
	}
	if err := tbl.Set(spec); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tbl.Delete() })
	// The WAN's datagram goes first; the controls through the tunnel
	// interface and the injector follow, and are waited for.
	got := send([]string{"from-tunnel", "from-injector"},
		datagram{wanHost, "198.18.71.1", "from-wan"},
		datagram{peer, "198.18.72.1", "from-tunnel"},
		datagram{inj, "198.18.73.1", "from-injector"})
	if slices.Contains(got, "from-wan") {
		t.Errorf("with the table, the WAN's datagram arrived: %v", got)
	}
	if !slices.Contains(got, "from-tunnel") || !slices.Contains(got, "from-injector") {
		t.Errorf("with the table, the tunnel interface's and the injector's datagrams did not both arrive (%v)", got)
	}
	if err := tbl.Delete(); err != nil {
		t.Fatal(err)
	}
	if got := send([]string{"after"}, datagram{wanHost, "198.18.71.1", "after"}); !slices.Contains(got, "after") {
		t.Errorf("after Delete the WAN's datagram did not arrive (%v)", got)
	}
}
