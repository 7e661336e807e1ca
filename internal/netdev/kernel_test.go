package netdev_test

import (
	"net"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vishvananda/netlink"

	"switchboard/internal/netdev"
	"switchboard/internal/netnstest"
)

// The kernel tests run as root in throwaway namespaces sbnd<hex>-…; every
// device lives inside them and goes with them.

// newNS returns a fresh namespace, a handle in it, and Devices on it.
func newNS(t *testing.T, name string) (*netnstest.NS, *netlink.Handle, *netdev.Devices) {
	t.Helper()
	ns := netnstest.NewPrefixed(t, "sbnd").NS(name)
	h := ns.Handle(t)
	return ns, h, netdev.New(h, nil)
}

func link(t *testing.T, h *netlink.Handle, name string) netlink.Link {
	t.Helper()
	l, err := h.LinkByName(name)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func addrsOf(t *testing.T, h *netlink.Handle, name string) []string {
	t.Helper()
	as, err := h.AddrList(link(t, h, name), netlink.FAMILY_ALL)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, a := range as {
		out = append(out, a.IPNet.String())
	}
	return out
}

// waitFor polls cond for what may take the kernel a while (linkwatch runs
// asynchronously), failing after a generous 20 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(20 * time.Second); !cond(); time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

func hasLinkLocal(addrs []string) bool {
	return slices.ContainsFunc(addrs, func(a string) bool { return strings.HasPrefix(a, "fe80:") })
}

func setState(t *testing.T, h *netlink.Handle, up bool, names ...string) {
	t.Helper()
	for _, n := range names {
		var err error
		if up {
			err = h.LinkSetUp(link(t, h, n))
		} else {
			err = h.LinkSetDown(link(t, h, n))
		}
		if err != nil {
			t.Fatal(err)
		}
	}
}

// TestFixKeepsAddressesOff: a device of ours that someone else made, with
// IPv6 address generation on, has its addresses removed by Fix, and no
// link-local address comes back when the device goes down and up, as the
// peer of a veth (the control, left as it was) shows one does. The edge's
// copy of Fix removed the addresses but left generation on, so the
// link-local address came back with the next carrier change: the device of
// ours became an IP host on the tenant's segment.
func TestFixKeepsAddressesOff(t *testing.T) {
	ns, h, d := newNS(t, "fix")
	la := netlink.NewLinkAttrs()
	la.Name = "sbndfix0"
	if err := h.LinkAdd(&netlink.Veth{LinkAttrs: la, PeerName: "sbndctl0", PeerTxQLen: -1}); err != nil {
		t.Fatal(err)
	}
	setState(t, h, true, "sbndfix0", "sbndctl0")
	if err := h.AddrAdd(link(t, h, "sbndfix0"), &netlink.Addr{IPNet: netnstest.IPNet(netip.MustParsePrefix("10.99.0.1/24"))}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "a link-local address on sbndfix0", func() bool { return hasLinkLocal(addrsOf(t, h, "sbndfix0")) })

	if err := d.Fix(link(t, h, "sbndfix0"), 1400); err != nil {
		t.Fatal(err)
	}
	if got := addrsOf(t, h, "sbndfix0"); len(got) != 0 {
		t.Fatalf("after Fix, sbndfix0 has addresses %v", got)
	}
	if l := link(t, h, "sbndfix0"); l.Attrs().MTU != 1400 || l.Attrs().Flags&net.FlagUp == 0 {
		t.Errorf("after Fix: MTU %d, flags %v; want 1400, up", l.Attrs().MTU, l.Attrs().Flags)
	}

	// Down and up again: the control gets its link-local address back,
	// sbndfix0 must not.
	setState(t, h, false, "sbndfix0", "sbndctl0")
	if got := addrsOf(t, h, "sbndctl0"); len(got) != 0 {
		t.Fatalf("sbndctl0 kept %v while down", got)
	}
	setState(t, h, true, "sbndfix0", "sbndctl0")
	waitFor(t, "the control's link-local address to come back", func() bool { return hasLinkLocal(addrsOf(t, h, "sbndctl0")) })
	if got := addrsOf(t, h, "sbndfix0"); len(got) != 0 {
		t.Errorf("after going down and up, sbndfix0 has addresses %v again", got)
	}
	out, err := ns.Exec("ip", "-d", "link", "show", "sbndfix0")
	if err != nil || !strings.Contains(out, "addrgenmode none") {
		t.Errorf("sbndfix0 does not have addrgenmode none: %v\n%s", err, out)
	}
}

// underlay makes a veth "sbndul0" with 198.18.250.1/24 to hang VXLAN
// devices on, and returns it.
func underlay(t *testing.T, h *netlink.Handle) netlink.Link {
	t.Helper()
	la := netlink.NewLinkAttrs()
	la.Name = "sbndul0"
	if err := h.LinkAdd(&netlink.Veth{LinkAttrs: la, PeerName: "sbndul1", PeerTxQLen: -1}); err != nil {
		t.Fatal(err)
	}
	ul := link(t, h, "sbndul0")
	if err := h.AddrAdd(ul, &netlink.Addr{IPNet: netnstest.IPNet(netip.MustParsePrefix("198.18.250.1/24"))}); err != nil {
		t.Fatal(err)
	}
	setState(t, h, true, "sbndul0", "sbndul1")
	return ul
}

func wantVXLAN(ul netlink.Link, name string, vni, port int) *netlink.Vxlan {
	la := netlink.NewLinkAttrs()
	la.Name, la.MTU = name, 1450
	return &netlink.Vxlan{LinkAttrs: la, VxlanId: vni, VtepDevIndex: ul.Attrs().Index,
		SrcAddr: net.ParseIP("198.18.250.1"), Port: port}
}

// TestEnsureVXLANRemovesAddresses: a VXLAN device is a bridge port, never
// an IP host; an address someone put on it goes at the next EnsureVXLAN,
// which keeps the device itself. The edge's tunnel had its own copy that
// fixed only MTU and up state, and left the address in place.
func TestEnsureVXLANRemovesAddresses(t *testing.T) {
	_, h, d := newNS(t, "vxaddr")
	want := wantVXLAN(underlay(t, h), "sbndvx0", 4096, 4790)
	vx, err := d.EnsureVXLAN(want, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := h.AddrAdd(vx, &netlink.Addr{IPNet: netnstest.IPNet(netip.MustParsePrefix("10.99.0.1/24"))}); err != nil {
		t.Fatal(err)
	}
	again, err := d.EnsureVXLAN(want, nil)
	if err != nil {
		t.Fatal(err)
	}
	if again.Attrs().Index != vx.Attrs().Index {
		t.Errorf("EnsureVXLAN recreated the device (index %d, was %d)", again.Attrs().Index, vx.Attrs().Index)
	}
	if got := addrsOf(t, h, "sbndvx0"); len(got) != 0 {
		t.Errorf("after EnsureVXLAN, sbndvx0 has addresses %v", got)
	}
}

// TestEnsureBridgeAndVXLAN: EnsureBridge replaces a device of the wrong
// type and makes an up bridge without snooping; EnsureVXLAN makes the
// device a port of it with learning off, keeps it when called again,
// fixes its MTU in place, and replaces it when an immutable attribute
// differs.
func TestEnsureBridgeAndVXLAN(t *testing.T) {
	_, h, d := newNS(t, "ensure")
	ul := underlay(t, h)
	la := netlink.NewLinkAttrs()
	la.Name = "sbndbr0"
	if err := h.LinkAdd(&netlink.Veth{LinkAttrs: la, PeerName: "sbndbr0p", PeerTxQLen: -1}); err != nil {
		t.Fatal(err)
	}
	br, err := d.EnsureBridge("sbndbr0", 1450)
	if err != nil {
		t.Fatal(err)
	}
	b, ok := link(t, h, "sbndbr0").(*netlink.Bridge)
	if !ok || b.MTU != 1450 || b.Flags&net.FlagUp == 0 || b.MulticastSnooping == nil || *b.MulticastSnooping {
		t.Fatalf("sbndbr0 = %+v, want an up bridge with MTU 1450 and snooping off", link(t, h, "sbndbr0"))
	}
	if br2, err := d.EnsureBridge("sbndbr0", 1450); err != nil || br2.Attrs().Index != br.Attrs().Index {
		t.Errorf("second EnsureBridge: %v, index %d (was %d)", err, br2.Attrs().Index, br.Attrs().Index)
	}

	want := wantVXLAN(ul, "sbndvx0", 100, 4789)
	vx, err := d.EnsureVXLAN(want, br)
	if err != nil {
		t.Fatal(err)
	}
	checkPort := func(what string) {
		t.Helper()
		l := link(t, h, "sbndvx0")
		pi, err := h.LinkGetProtinfo(l)
		if err != nil {
			t.Fatal(err)
		}
		if l.Attrs().MasterIndex != br.Attrs().Index || pi.Learning || l.Attrs().Flags&net.FlagUp == 0 || l.Attrs().MTU != 1450 {
			t.Errorf("%s: sbndvx0 master %d (bridge %d), learning %t, flags %v, MTU %d", what,
				l.Attrs().MasterIndex, br.Attrs().Index, pi.Learning, l.Attrs().Flags, l.Attrs().MTU)
		}
	}
	checkPort("created")
	if err := h.LinkSetMTU(vx, 1300); err != nil {
		t.Fatal(err)
	}
	if err := h.LinkSetLearning(vx, true); err != nil {
		t.Fatal(err)
	}
	if again, err := d.EnsureVXLAN(want, br); err != nil || again.Attrs().Index != vx.Attrs().Index {
		t.Fatalf("EnsureVXLAN after drift: %v; index %d, was %d", err, again.Attrs().Index, vx.Attrs().Index)
	}
	checkPort("after drift")
	other := wantVXLAN(ul, "sbndvx0", 100, 4795)
	if replaced, err := d.EnsureVXLAN(other, br); err != nil || replaced.Attrs().Index == vx.Attrs().Index {
		t.Fatalf("EnsureVXLAN with another port: %v; index %d, was %d", err, replaced.Attrs().Index, vx.Attrs().Index)
	}
	if got := link(t, h, "sbndvx0").(*netlink.Vxlan).Port; got != 4795 {
		t.Errorf("after replacing, port %d, want 4795", got)
	}
	checkPort("replaced")
}

// TestOpenHandleAndDelete: a handle opened by path works in that namespace;
// Delete deletes once and then reports nothing to do.
func TestOpenHandleAndDelete(t *testing.T) {
	ns, h, _ := newNS(t, "open")
	oh, err := netdev.OpenHandle(ns.Path)
	if err != nil {
		t.Fatal(err)
	}
	defer oh.Close()
	la := netlink.NewLinkAttrs()
	la.Name = "sbnddel0"
	if err := oh.LinkAdd(&netlink.Veth{LinkAttrs: la, PeerName: "sbnddel1", PeerTxQLen: -1}); err != nil {
		t.Fatal(err)
	}
	link(t, h, "sbnddel1") // made in ns, not in the test's own namespace
	d := netdev.New(oh, nil)
	for i, want := range []bool{true, false} {
		if deleted, err := d.Delete("sbnddel0"); err != nil || deleted != want {
			t.Errorf("Delete #%d = %t, %v; want %t", i+1, deleted, err, want)
		}
	}
	if _, err := netdev.OpenHandle(ns.Path + "-missing"); err == nil {
		t.Error("OpenHandle of a missing namespace succeeded")
	}
}
