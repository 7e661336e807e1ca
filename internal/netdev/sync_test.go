package netdev_test

import (
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"switchboard/internal/netdev"
)

// fdbDump returns a VXLAN port's FDB as sorted text: "self MAC dst IP" for
// the device's own entries, "master MAC static|learned" for the bridge's
// non-permanent ones.
func fdbDump(t *testing.T, h *netlink.Handle, name string) string {
	t.Helper()
	ns, err := h.NeighList(link(t, h, name).Attrs().Index, unix.AF_BRIDGE)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, n := range ns {
		switch {
		case n.MasterIndex == 0 && n.Flags&netlink.NTF_MASTER == 0:
			out = append(out, fmt.Sprintf("self %s dst %s", n.HardwareAddr, n.IP))
		case n.State&netlink.NUD_PERMANENT != 0:
		case n.State&netlink.NUD_NOARP != 0:
			out = append(out, fmt.Sprintf("master %s static", n.HardwareAddr))
		default:
			out = append(out, fmt.Sprintf("master %s learned", n.HardwareAddr))
		}
	}
	slices.Sort(out)
	return strings.Join(out, "\n")
}

func mac(s string) netdev.MAC {
	hw, err := net.ParseMAC(s)
	if err != nil {
		panic(err)
	}
	m, _ := netdev.MACOf(hw)
	return m
}

// TestSyncFDB: SyncFDB programs a port's own entries and its bridge's
// static ones, moves a MAC in place and removes learned entries;
// SyncSelfFDB changes only the device's own entries; SyncNeigh keeps
// permanent neighbour entries.
func TestSyncFDB(t *testing.T) {
	_, h, d := newNS(t, "fdb")
	ul := underlay(t, h)
	br, err := d.EnsureBridge("sbndbr0", 1450)
	if err != nil {
		t.Fatal(err)
	}
	vx, err := d.EnsureVXLAN(wantVXLAN(ul, "sbndvx0", 100, 4789), br)
	if err != nil {
		t.Fatal(err)
	}
	b, c := netip.MustParseAddr("198.18.250.2"), netip.MustParseAddr("198.18.250.3")
	m1, m2 := mac("02:00:00:00:00:01"), mac("02:00:00:00:00:02")
	want := netdev.FDB{Self: []netdev.FDBEntry{{Dst: b}, {MAC: m1, Dst: b}}, Static: []netdev.MAC{m1}}
	for range 2 {
		if err := d.SyncFDB(vx, want); err != nil {
			t.Fatal(err)
		}
	}
	check := func(what, want string) {
		t.Helper()
		if got := fdbDump(t, h, "sbndvx0"); got != want {
			t.Errorf("%s:\n%s\nwant:\n%s", what, got, want)
		}
	}
	check("after SyncFDB", "master 02:00:00:00:00:01 static\n"+
		"self 00:00:00:00:00:00 dst 198.18.250.2\nself 02:00:00:00:00:01 dst 198.18.250.2")

	// A learned entry, as the bridge would make it: SyncSelfFDB leaves it
	// (and the static one) to the bridge, SyncFDB removes it.
	if err := h.NeighAdd(&netlink.Neigh{LinkIndex: vx.Attrs().Index, Family: unix.AF_BRIDGE,
		Flags: netlink.NTF_MASTER, State: netlink.NUD_REACHABLE, HardwareAddr: m2.HW()}); err != nil {
		t.Fatal(err)
	}
	moved := []netdev.FDBEntry{{Dst: c}, {MAC: m1, Dst: c}}
	if err := d.SyncSelfFDB(vx, moved); err != nil {
		t.Fatal(err)
	}
	check("after SyncSelfFDB", "master 02:00:00:00:00:01 static\nmaster 02:00:00:00:00:02 learned\n"+
		"self 00:00:00:00:00:00 dst 198.18.250.3\nself 02:00:00:00:00:01 dst 198.18.250.3")
	if err := d.SyncFDB(vx, netdev.FDB{Self: moved, Static: []netdev.MAC{m1}}); err != nil {
		t.Fatal(err)
	}
	check("after SyncFDB without the learned MAC", "master 02:00:00:00:00:01 static\n"+
		"self 00:00:00:00:00:00 dst 198.18.250.3\nself 02:00:00:00:00:01 dst 198.18.250.3")

	ip := netip.MustParseAddr("10.99.0.2")
	for range 2 {
		if err := d.SyncNeigh(vx, map[netip.Addr]netdev.MAC{ip: m1}); err != nil {
			t.Fatal(err)
		}
	}
	ns, err := h.NeighList(vx.Attrs().Index, netlink.FAMILY_V4)
	if err != nil {
		t.Fatal(err)
	}
	if len(ns) != 1 || !ns[0].IP.Equal(ip.AsSlice()) || !m1.Equal(ns[0].HardwareAddr) || ns[0].State&netlink.NUD_PERMANENT == 0 {
		t.Errorf("neighbours of sbndvx0: %+v, want one permanent %s → %s", ns, ip, m1)
	}
	if err := d.SyncNeigh(vx, nil); err != nil {
		t.Fatal(err)
	}
	if ns, _ := h.NeighList(vx.Attrs().Index, netlink.FAMILY_V4); len(ns) != 0 {
		t.Errorf("neighbours left after SyncNeigh(nil): %+v", ns)
	}
}
