package isolation

import (
	"net/netip"
	"os"
	"strings"
	"testing"

	"github.com/vishvananda/netns"

	"switchboard/internal/firewall"
	"switchboard/internal/netnstest"
)

// The kernel takes the rules, and nft reads back what Spec.String says:
// the new matches (ct state, ct status dnat, ip daddr) are encoded right.
func TestKernelListsWhatSpecSays(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root")
	}
	ns := netnstest.NewPrefixed(t, "sbpm").NS("fw")
	fd, err := netns.GetFromPath(ns.Path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { fd.Close() })
	spec, err := Spec(Config{PodInterfaces: "sbp*", Shared: []netip.Addr{netip.MustParseAddr("10.244.0.2")},
		Isolated: []Network{{Name: "namespace iso", Pods: []netip.Addr{netip.MustParseAddr("10.244.0.3")}, ServicesOpen: true}}})
	if err != nil {
		t.Fatal(err)
	}
	tb, err := firewall.New(firewall.INet, "sbpmt", firewall.WithNetNS(int(fd)))
	if err != nil {
		t.Fatal(err)
	}
	if err := tb.Set(spec); err != nil {
		t.Fatal(err)
	}
	out, err := ns.Exec("nft", "list", "table", "inet", "sbpmt")
	if err != nil {
		t.Fatalf("nft list: %v: %s", err, out)
	}
	for _, want := range []string{
		`iifname "sbp*" ct state established,related accept`,
		`iifname "sbp*" ip saddr @net04 ct status dnat ip daddr @shared4 accept`,
		`iifname "sbp*" ip saddr @shared4 ip daddr @isolated4 counter packets 0 bytes 0 drop`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("nft list lacks %q:\n%s", want, out)
		}
	}
}
