package tunnel_test

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"switchboard/internal/edge/tunnel"
	"switchboard/internal/netnstest"
)

// wanNS returns a handle in a fresh namespace "sbe<hex>-wan" whose wan0
// (MTU 1500) holds 198.19.0.1/24, and a VXLAN tunnel sending from it.
func wanNS(t *testing.T, port uint16) (*netlink.Handle, *tunnel.VXLAN) {
	t.Helper()
	env := netnstest.NewPrefixed(t, "sbe")
	a, b := env.NS("wan"), env.NS("far")
	netnstest.Veth(t,
		netnstest.End{NS: a, Name: "wan0", Addr: netip.MustParsePrefix("198.19.0.1/24")},
		netnstest.End{NS: b, Name: "wan0", Addr: netip.MustParsePrefix("198.19.0.2/24")})
	h := a.Handle(t)
	v, err := tunnel.NewVXLAN(h, tunnel.WAN{Device: "wan0", Local: netip.MustParseAddr("198.19.0.1"), Port: port}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	return h, v
}

// dump returns a port's attributes and own FDB entries as text.
func dump(t *testing.T, h *netlink.Handle, name string) []string {
	t.Helper()
	l, err := h.LinkByName(name)
	if err != nil {
		t.Fatal(err)
	}
	vx := l.(*netlink.Vxlan)
	out := []string{fmt.Sprintf("%s index %d vni %d local %s port %d mtu %d up %t learning %t proxy %t",
		name, l.Attrs().Index, vx.VxlanId, vx.SrcAddr, vx.Port, l.Attrs().MTU, l.Attrs().Flags&net.FlagUp != 0, vx.Learning, vx.Proxy)}
	ns, err := h.NeighList(l.Attrs().Index, unix.AF_BRIDGE)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range ns {
		if n.MasterIndex == 0 && n.Flags&netlink.NTF_MASTER == 0 {
			out = append(out, fmt.Sprintf("fdb %s dst %s", n.HardwareAddr, n.IP))
		}
	}
	sort.Strings(out[1:])
	return out
}

var (
	epB  = netip.MustParseAddr("198.19.0.2")
	epC  = netip.MustParseAddr("198.19.0.3")
	mac1 = net.HardwareAddr{2, 0, 0, 0, 0, 1}
)

// TestVXLAN: Ensure makes the port as documented, is idempotent, follows
// changes of remotes in place, replaces a port whose immutable attributes
// differ; IDs lists ports; Remove is idempotent.
func TestVXLAN(t *testing.T) {
	h, v := wanNS(t, 0)
	if v.Overhead() != 50 {
		t.Errorf("Overhead() = %d over IPv4, want 50", v.Overhead())
	}
	p := tunnel.Port{ID: 4096, MTU: 1450, Remotes: []tunnel.Remote{{Endpoint: epB, MACs: []net.HardwareAddr{mac1}}, {Endpoint: epC}}}
	dev, err := v.Ensure(p)
	if err != nil || dev != "sbwx4096" {
		t.Fatalf("Ensure = %q, %v", dev, err)
	}
	first := dump(t, h, dev)
	idx := strings.Fields(first[0])[2]
	want := []string{
		"sbwx4096 index " + idx + " vni 4096 local 198.19.0.1 port 4790 mtu 1450 up true learning false proxy false",
		"fdb 00:00:00:00:00:00 dst 198.19.0.2",
		"fdb 00:00:00:00:00:00 dst 198.19.0.3",
		"fdb 02:00:00:00:00:01 dst 198.19.0.2",
	}
	if !slices.Equal(first, want) {
		t.Fatalf("after Ensure:\n%s\nwant:\n%s", strings.Join(first, "\n"), strings.Join(want, "\n"))
	}
	if _, err := v.Ensure(p); err != nil {
		t.Fatal(err)
	}
	if got := dump(t, h, dev); !slices.Equal(got, first) {
		t.Errorf("second Ensure changed the port:\n%s", strings.Join(got, "\n"))
	}

	// The MAC moves to C, B leaves, the MTU shrinks: all in place.
	p2 := tunnel.Port{ID: 4096, MTU: 1400, Remotes: []tunnel.Remote{{Endpoint: epC, MACs: []net.HardwareAddr{mac1}}}}
	if _, err := v.Ensure(p2); err != nil {
		t.Fatal(err)
	}
	want = []string{
		"sbwx4096 index " + idx + " vni 4096 local 198.19.0.1 port 4790 mtu 1400 up true learning false proxy false",
		"fdb 00:00:00:00:00:00 dst 198.19.0.3",
		"fdb 02:00:00:00:00:01 dst 198.19.0.3",
	}
	if got := dump(t, h, dev); !slices.Equal(got, want) {
		t.Errorf("after the change:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}

	// Another port number is an immutable attribute: the port is replaced.
	v2, err := tunnel.NewVXLAN(h, tunnel.WAN{Device: "wan0", Local: netip.MustParseAddr("198.19.0.1"), Port: 4795}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := v2.Ensure(p2); err != nil {
		t.Fatal(err)
	}
	got := dump(t, h, dev)
	if strings.Contains(got[0], "index "+idx+" ") || !strings.Contains(got[0], "port 4795") || len(got) != 3 {
		t.Errorf("after changing the port:\n%s", strings.Join(got, "\n"))
	}

	if _, err := v.Ensure(tunnel.Port{ID: 7, MTU: 1450}); err != nil {
		t.Fatal(err)
	}
	if ids, err := v.IDs(); err != nil || !slices.Equal(ids, []uint32{7, 4096}) {
		t.Errorf("IDs() = %v, %v; want [7 4096]", ids, err)
	}
	for range 2 {
		if err := v.Remove(4096); err != nil {
			t.Errorf("Remove: %v", err)
		}
	}
	if ids, _ := v.IDs(); !slices.Equal(ids, []uint32{7}) {
		t.Errorf("IDs() after Remove = %v, want [7]", ids)
	}
	if _, err := v.Ensure(tunnel.Port{ID: 8, MTU: 1450, Remotes: []tunnel.Remote{{Endpoint: netip.MustParseAddr("198.19.0.1")}}}); err == nil {
		t.Error("Ensure with the local address as a remote succeeded")
	}
}

// TestVXLANPortSeparation shows why the WAN port is not 4789: on the same
// namespace, a VXLAN device with a VNI already used on the same UDP port
// cannot be made, even with another local address; on DefaultPort it can.
func TestVXLANPortSeparation(t *testing.T) {
	h, v := wanNS(t, 0)
	wan, err := h.LinkByName("wan0")
	if err != nil {
		t.Fatal(err)
	}
	intra := &netlink.Vxlan{LinkAttrs: netlink.LinkAttrs{Name: "sbvx4096"}, VxlanId: 4096, Port: 4789,
		VtepDevIndex: wan.Attrs().Index, SrcAddr: net.ParseIP("198.19.0.1")}
	if err := h.LinkAdd(intra); err != nil {
		t.Fatal(err)
	}
	clash := &netlink.Vxlan{LinkAttrs: netlink.LinkAttrs{Name: "testclash0"}, VxlanId: 4096, Port: 4789,
		VtepDevIndex: wan.Attrs().Index, SrcAddr: net.ParseIP("198.19.0.9")}
	if err := h.LinkAdd(clash); !errors.Is(err, unix.EEXIST) {
		t.Errorf("a second VXLAN device with VNI 4096 on port 4789: %v, want EEXIST", err)
	}
	if _, err := v.Ensure(tunnel.Port{ID: 4096, MTU: 1450, Remotes: []tunnel.Remote{{Endpoint: epB}}}); err != nil {
		t.Errorf("tunnel port with VNI 4096 on port %d next to sbvx4096 on 4789: %v", tunnel.DefaultPort, err)
	}
}
