package isolation

import (
	"net/netip"
	"strings"
	"testing"
)

func TestSpecGolden(t *testing.T) {
	a := netip.MustParseAddr
	spec, err := Spec(Config{
		PodInterfaces: "sbp*",
		Local:         []netip.Addr{a("10.244.1.2"), a("10.244.1.3")},
		Shared:        []netip.Addr{a("10.244.1.2"), a("10.244.0.2"), a("fd00::2")},
		Isolated: []Network{
			{Name: "namespace iso", Pods: []netip.Addr{a("10.244.1.3")}},
			{Name: "network ns/blue", Pods: []netip.Addr{a("10.244.0.4")}, ServicesOpen: true},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	want := `	set local4 {
		type ipv4_addr
		elements = { 10.244.1.2, 10.244.1.3 }
	}
	set shared4 {
		type ipv4_addr
		elements = { 10.244.0.2, 10.244.1.2 }
	}
	set isolated4 {
		type ipv4_addr
		elements = { 10.244.0.4, 10.244.1.3 }
	}
	set open4 {
		type ipv4_addr
		elements = { 10.244.0.4 }
	}
	set net04 {
		type ipv4_addr
		elements = { 10.244.1.3 }
	}
	set net14 {
		type ipv4_addr
		elements = { 10.244.0.4 }
	}
	chain isolation {
		type filter hook forward priority filter - 5; policy accept;
		iifname "sbp*" ip saddr != @local4 counter drop comment "source is not a pod of this node: forged"
		iifname "sbp*" ct state established,related accept comment "replies and related"
		iifname "sbp*" ip saddr @net04 ip daddr @net04 accept comment "namespace iso: its own pods"
		iifname "sbp*" ip saddr @net04 ct status dnat ip daddr @shared4 accept comment "namespace iso: a Service of the cluster network"
		iifname "sbp*" ip saddr @net04 ct status dnat ip daddr @open4 accept comment "namespace iso: an open Service"
		iifname "sbp*" ip saddr @net04 ip daddr @shared4 counter drop comment "namespace iso is isolated: not the cluster network's pods"
		iifname "sbp*" ip saddr @net04 ip daddr @isolated4 counter drop comment "namespace iso is isolated: not another network's pods"
		iifname "sbp*" ip saddr @net14 ip daddr @net14 accept comment "network ns/blue: its own pods"
		iifname "sbp*" ip saddr @net14 ct status dnat ip daddr @shared4 accept comment "network ns/blue: a Service of the cluster network"
		iifname "sbp*" ip saddr @net14 ct status dnat ip daddr @open4 accept comment "network ns/blue: an open Service"
		iifname "sbp*" ip saddr @net14 ip daddr @shared4 counter drop comment "network ns/blue is isolated: not the cluster network's pods"
		iifname "sbp*" ip saddr @net14 ip daddr @isolated4 counter drop comment "network ns/blue is isolated: not another network's pods"
		iifname "sbp*" ip saddr @shared4 ct status dnat ip daddr @open4 accept comment "cluster network: an open Service"
		iifname "sbp*" ip saddr @shared4 ip daddr @isolated4 counter drop comment "cluster network: not an isolated network's pods"
	}
`
	if got := spec.String(); got != want {
		t.Errorf("spec:\n%s\nwant:\n%s", got, want)
	}
}

func TestSpecErrors(t *testing.T) {
	for name, c := range map[string]Config{
		"no pattern":  {},
		"bad pattern": {PodInterfaces: "*"},
		"bad address": {PodInterfaces: "sbp*", Isolated: []Network{{Name: "x", Pods: []netip.Addr{{}}}}},
	} {
		if _, err := Spec(c); err == nil {
			t.Errorf("%s: no error", name)
		} else if !strings.Contains(err.Error(), "pattern") && !strings.Contains(err.Error(), "address") {
			t.Errorf("%s: error %q names neither the pattern nor the address", name, err)
		}
	}
}
