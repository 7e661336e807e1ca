package clusternet

import (
	"net/netip"
	"strings"
	"testing"
)

func TestAllocate(t *testing.T) {
	cidr := netip.MustParsePrefix("10.244.1.0/30") // .0 network, .1 gateway, .2 pod, .3 broadcast
	if gw := Gateway(cidr); gw != netip.MustParseAddr("10.244.1.1") {
		t.Errorf("gateway %s", gw)
	}
	a, err := Allocate(cidr, nil)
	if err != nil || a != netip.MustParseAddr("10.244.1.2") {
		t.Fatalf("first = %s, %v", a, err)
	}
	_, err = Allocate(cidr, map[netip.Addr]bool{a: true})
	if err == nil || !strings.Contains(err.Error(), "10.244.1.0/30 is full") || !strings.Contains(err.Error(), "--node-cidr-mask-size") {
		t.Errorf("full: %v", err)
	}
	big := netip.MustParsePrefix("10.244.2.0/24")
	used := map[netip.Addr]bool{netip.MustParseAddr("10.244.2.2"): true, netip.MustParseAddr("10.244.2.4"): true}
	if a, _ := Allocate(big, used); a != netip.MustParseAddr("10.244.2.3") {
		t.Errorf("lowest free = %s, want 10.244.2.3", a)
	}
}
