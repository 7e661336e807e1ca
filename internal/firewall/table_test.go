package firewall_test

import (
	"net/netip"
	"strings"
	"testing"

	"github.com/vishvananda/netns"

	"switchboard/internal/firewall"
	"switchboard/internal/netnstest"
)

// newNS returns a throwaway namespace and an fd for firewall.WithNetNS.
func newNS(t *testing.T) (*netnstest.NS, int) {
	t.Helper()
	ns := netnstest.NewPrefixed(t, "sbfw").NS("t")
	fd, err := netns.GetFromPath(ns.Path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { fd.Close() })
	return ns, int(fd)
}

func newTable(t *testing.T, fd int, f firewall.Family, name string) *firewall.Table {
	t.Helper()
	tb, err := firewall.New(f, name, firewall.WithNetNS(fd))
	if err != nil {
		t.Fatal(err)
	}
	return tb
}

func list(t *testing.T, ns *netnstest.NS, args ...string) string {
	t.Helper()
	out, err := ns.Exec(append([]string{"nft"}, args...)...)
	if err != nil {
		t.Fatalf("nft %s: %v: %s", strings.Join(args, " "), err, out)
	}
	return out
}

// A Set replaces everything in the table, whatever put it there, including
// sets whose type and chains whose hook changed (which the kernel cannot
// change in place).
func TestSetReplacesWholeTable(t *testing.T) {
	ns, fd := newNS(t)
	a := firewall.Spec{
		Sets: []firewall.Set{{Name: "peers", Type: firewall.IPv4, Elements: []netip.Prefix{netip.MustParsePrefix("198.18.9.1/32")}}},
		Chains: []firewall.Chain{{Name: "in", Hook: firewall.Input, Rules: []firewall.Rule{
			{Match: []firewall.Match{firewall.UDPDport(9), firewall.SAddrNotIn(firewall.IPv4, "peers")}, Verdict: firewall.Drop},
		}}},
	}
	if err := newTable(t, fd, firewall.INet, "sbfwt").Set(a); err != nil {
		t.Fatal(err)
	}
	if got := list(t, ns, "list", "table", "inet", "sbfwt"); !strings.Contains(got, "udp dport 9 ip saddr != @peers drop") || !strings.Contains(got, "198.18.9.1") {
		t.Fatalf("after the first Set:\n%s", got)
	}
	// Someone else adds to our table.
	list(t, ns, "add chain inet sbfwt extra { type filter hook output priority 0; }; add set inet sbfwt other { type ipv4_addr; }")

	b := firewall.Spec{
		Sets: []firewall.Set{{Name: "peers", Type: firewall.IPv6, Elements: []netip.Prefix{netip.MustParsePrefix("fd00::9/128")}}},
		Chains: []firewall.Chain{{Name: "in", Hook: firewall.Forward, Priority: -10, Rules: []firewall.Rule{
			{Match: []firewall.Match{firewall.UDPDport(9), firewall.SAddrIn(firewall.IPv6, "peers")}, Counter: true, Verdict: firewall.Accept, Comment: "from a peer"},
		}}},
	}
	if err := newTable(t, fd, firewall.INet, "sbfwt").Set(b); err != nil { // a new Table: as after a restart
		t.Fatal(err)
	}
	got := list(t, ns, "list", "table", "inet", "sbfwt")
	for _, want := range []string{"type ipv6_addr", "fd00::9", "hook forward priority filter - 10", `udp dport 9 ip6 saddr @peers counter packets 0 bytes 0 accept comment "from a peer"`} {
		if !strings.Contains(got, want) {
			t.Errorf("after the second Set, no %q in:\n%s", want, got)
		}
	}
	for _, gone := range []string{"198.18.9.1", "hook input", "extra", "other"} {
		if strings.Contains(got, gone) {
			t.Errorf("after the second Set, %q is still in:\n%s", gone, got)
		}
	}
}

func TestExistsAndDelete(t *testing.T) {
	ns, fd := newNS(t)
	tb := newTable(t, fd, firewall.IP, "sbfwt")
	other := newTable(t, fd, firewall.IP6, "sbfwt") // same name, other family: another table
	exists := func(tb *firewall.Table, want bool) {
		t.Helper()
		if got, err := tb.Exists(); err != nil || got != want {
			t.Fatalf("%v Exists = %v, %v; want %v", tb, got, err, want)
		}
	}
	exists(tb, false)
	spec := firewall.Spec{Chains: []firewall.Chain{{Name: "out", Hook: firewall.Output, Rules: []firewall.Rule{
		{Match: []firewall.Match{firewall.IifName("lo")}, Verdict: firewall.Accept},
	}}}}
	for _, x := range []*firewall.Table{tb, other} {
		if err := x.Set(spec); err != nil {
			t.Fatal(err)
		}
		exists(x, true)
	}
	if err := tb.Delete(); err != nil {
		t.Fatal(err)
	}
	exists(tb, false)
	exists(other, true)
	if err := tb.Delete(); err != nil {
		t.Fatalf("Delete of a table that is gone: %v, want nil", err)
	}
	if got := list(t, ns, "list", "tables"); strings.TrimSpace(got) != "table ip6 sbfwt" {
		t.Errorf("tables left: %q, want only table ip6 sbfwt", got)
	}
}

func TestSetRefusesInvalidSpecAndKeepsTable(t *testing.T) {
	ns, fd := newNS(t)
	tb := newTable(t, fd, firewall.INet, "sbfwt")
	good := firewall.Spec{Chains: []firewall.Chain{{Name: "in", Hook: firewall.Input, Rules: []firewall.Rule{
		{Match: []firewall.Match{firewall.UDPDport(9)}, Verdict: firewall.Drop},
	}}}}
	if err := tb.Set(good); err != nil {
		t.Fatal(err)
	}
	bad := firewall.Spec{Chains: []firewall.Chain{{Name: "in", Hook: firewall.Input, Rules: []firewall.Rule{
		{Match: []firewall.Match{firewall.SAddrIn(firewall.IPv4, "missing")}, Verdict: firewall.Drop},
	}}}}
	if err := tb.Set(bad); err == nil || !strings.Contains(err.Error(), `no set "missing"`) {
		t.Fatalf("Set(invalid) = %v, want an error naming the missing set", err)
	}
	if got := list(t, ns, "list", "table", "inet", "sbfwt"); !strings.Contains(got, "udp dport 9 drop") {
		t.Errorf("after a refused Set, the table changed:\n%s", got)
	}
}
