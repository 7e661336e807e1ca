package dataplane_test

import (
	"errors"
	"fmt"
	"maps"
	"net"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"

	"switchboard/internal/dataplane"
)

func link(t *testing.T, n *node, name string) netlink.Link {
	t.Helper()
	l, err := n.h.LinkByName(name)
	if err != nil {
		t.Fatalf("find %q on node %s: %v", name, n.name, err)
	}
	return l
}

// watch records the link and neighbour notifications of n's bridges, VXLAN
// devices and edge cables until the returned function is called.
func watch(t *testing.T, n *node) func() []string {
	t.Helper()
	ours := map[int]string{}
	for name, idx := range linkIndexes(t, n) {
		if !strings.HasPrefix(name, "sbv") || strings.HasPrefix(name, "sbvx") { // all but pod ports
			ours[idx] = name
		}
	}
	nsh, err := netns.GetFromPath(n.ns.Path)
	if err != nil {
		t.Fatal(err)
	}
	defer nsh.Close()
	done := make(chan struct{})
	links := make(chan netlink.LinkUpdate, 64)
	neighs := make(chan netlink.NeighUpdate, 64)
	if err := netlink.LinkSubscribeWithOptions(links, done, netlink.LinkSubscribeOptions{Namespace: &nsh}); err != nil {
		t.Fatal(err)
	}
	if err := netlink.NeighSubscribeWithOptions(neighs, done, netlink.NeighSubscribeOptions{Namespace: &nsh}); err != nil {
		t.Fatal(err)
	}
	var (
		mu     sync.Mutex
		events []string
		wg     sync.WaitGroup
	)
	record := func(idx int, s string) {
		if name, ok := ours[idx]; ok {
			mu.Lock()
			events = append(events, name+": "+s)
			mu.Unlock()
		}
	}
	wg.Add(2)
	go func() {
		defer wg.Done()
		for u := range links {
			record(int(u.Index), fmt.Sprintf("link message type %d flags %v", u.Header.Type, u.Attrs().Flags))
		}
	}()
	go func() {
		defer wg.Done()
		for u := range neighs {
			record(u.LinkIndex, fmt.Sprintf("neigh message type %d %s %s", u.Type, u.IP, u.HardwareAddr))
		}
	}()
	var once sync.Once
	stop := func() []string {
		once.Do(func() {
			time.Sleep(100 * time.Millisecond) // let late notifications arrive
			close(done)
			wg.Wait()
		})
		mu.Lock()
		defer mu.Unlock()
		return slices.Clone(events)
	}
	t.Cleanup(func() { stop() })
	return stop
}

// TestSetIdempotent: Set with the config it already applied changes nothing
// in the kernel, whatever the order of the remotes.
func TestSetIdempotent(t *testing.T) {
	c := newCluster(t)
	c.fourPods(t)
	links := linkIndexes(t, c.a)
	before := map[uint32][]string{red: entries(t, c.a, red), blue: entries(t, c.a, blue)}
	want := map[uint32]int{red: 2 + 1 + 2, blue: 2 + 1 + 1} // self (MAC + all-zeros), master, neighbours
	for vni, n := range want {
		if len(before[vni]) != n || hasDuplicates(before[vni]) {
			t.Fatalf("network %d on node a holds %d entries, want %d:\n%s", vni, len(before[vni]), n, strings.Join(before[vni], "\n"))
		}
	}

	stop := watch(t, c.a)
	cfg := c.config(c.a)
	for range 2 {
		if err := c.a.dp.Set(cfg); err != nil {
			t.Fatal(err)
		}
	}
	reversed := c.config(c.a)
	for vni, n := range reversed.Networks {
		slices.Reverse(n.Remotes)
		reversed.Networks[vni] = n
	}
	if err := c.a.dp.Set(reversed); err != nil {
		t.Fatal(err)
	}
	if ev := stop(); len(ev) > 0 {
		t.Errorf("repeated Set changed the kernel:\n%s", strings.Join(ev, "\n"))
	}
	if got := linkIndexes(t, c.a); !maps.Equal(got, links) {
		t.Errorf("ifindexes changed: %v, were %v", got, links)
	}
	for vni, b := range before {
		if got := entries(t, c.a, vni); !slices.Equal(got, b) {
			t.Errorf("network %d entries changed:\n%s\nwere:\n%s", vni, strings.Join(got, "\n"), strings.Join(b, "\n"))
		}
	}
}

// TestSetRemovesStale: remotes that leave the config leave the kernel, and
// a moved MAC is redirected in place.
func TestSetRemovesStale(t *testing.T) {
	c := newCluster(t)
	redA, redB, _, blueB := c.fourPods(t)
	blueBefore := entries(t, c.a, blue)

	cfg := c.config(c.a)
	cfg.Networks[red] = dataplane.Network{}
	stop := watch(t, c.a)
	if err := c.a.dp.Set(cfg); err != nil {
		t.Fatal(err)
	}
	// Also proves that watch, which TestSetIdempotent relies on, sees changes.
	ev := stop()
	dels := slices.DeleteFunc(slices.Clone(ev), func(e string) bool { return !strings.Contains(e, fmt.Sprintf("type %d ", unix.RTM_DELNEIGH)) })
	if len(dels) != 5 {
		t.Errorf("removing red b made %d deletions, want 5 (2 self, 1 master, 2 neighbours):\n%s", len(dels), strings.Join(ev, "\n"))
	}
	if got := entries(t, c.a, red); len(got) != 0 {
		t.Errorf("red still holds entries after its remotes left:\n%s", strings.Join(got, "\n"))
	}
	if got := entries(t, c.a, blue); !slices.Equal(got, blueBefore) {
		t.Errorf("blue entries changed:\n%s", strings.Join(got, "\n"))
	}
	if got := redA.ns.Ping(t, redB.ip(), 2, "1"); got != 0 {
		t.Errorf("red a still reaches red b without its entries: %d replies", got)
	}

	// Red b "moves" to another node: its MAC now tunnels there.
	moved := c.config(c.a)
	moved.Networks[red].Remotes[0].NodeIP = netip.MustParseAddr("198.18.200.3")
	if err := c.a.dp.Set(c.config(c.a)); err != nil {
		t.Fatal(err)
	}
	if err := c.a.dp.Set(moved); err != nil {
		t.Fatal(err)
	}
	got := entries(t, c.a, red)
	if containsLine(got, "198.18.200.2") || !containsLine(got, redB.mac.String()+" dst 198.18.200.3") || hasDuplicates(got) {
		t.Errorf("after the move, red holds:\n%s", strings.Join(got, "\n"))
	}

	if err := c.a.dp.Set(c.config(c.a)); err != nil {
		t.Fatal(err)
	}
	if got := redA.ns.Ping(t, redB.ip(), 3, "5"); got != 3 {
		t.Errorf("red a -> red b after restoring the remotes: %d/3 replies", got)
	}
	if got := entries(t, c.a, blue); !containsLine(got, blueB.mac.String()) {
		t.Errorf("blue lost blue b:\n%s", strings.Join(got, "\n"))
	}
}

// TestSetKeepsNetworksInUse: a network leaves the config while a pod still
// uses it: Set keeps it working and says so; once the pod is gone, Set
// removes it.
func TestSetKeepsNetworksInUse(t *testing.T) {
	c := newCluster(t)
	_, _, blueA, blueB := c.fourPods(t)
	before := linkIndexes(t, c.a)
	cfg := c.config(c.a)
	delete(cfg.Networks, blue)

	err := c.a.dp.Set(cfg)
	var inUse *dataplane.NetworksInUseError
	if !errors.As(err, &inUse) {
		t.Fatalf("Set without blue: got %v, want a NetworksInUseError", err)
	}
	host := dataplane.HostIfName(blueA.spec.ContainerID, "net1")
	if want := map[uint32][]string{blue: {host}}; !maps.EqualFunc(inUse.Ports, want, slices.Equal) {
		t.Errorf("in use: %v, want %v", inUse.Ports, want)
	}
	if got := linkIndexes(t, c.a); !maps.Equal(got, before) {
		t.Errorf("devices changed: %v, were %v", got, before)
	}
	if got := blueA.ns.Ping(t, blueB.ip(), 2, "5"); got != 2 {
		t.Errorf("blue a -> blue b while kept: %d/2 replies", got)
	}

	if err := c.a.dp.DelPod(blueA.spec.ContainerID, blueA.spec.NetNS, "net1"); err != nil {
		t.Fatal(err)
	}
	if err := c.a.dp.Set(cfg); err != nil {
		t.Fatalf("Set without blue and without its pod: %v", err)
	}
	for _, name := range []string{"sbbr200", "sbvx200"} {
		if _, err := c.a.h.LinkByName(name); err == nil {
			t.Errorf("%s still exists", name)
		}
	}
	for _, name := range []string{"sbbr100", "sbvx100"} {
		if link(t, c.a, name).Attrs().Index != before[name] {
			t.Errorf("%s was recreated", name)
		}
	}
}

// TestSetRepairsDrift: whatever drifted on the node's devices, Set puts it
// back, in place where the kernel allows, without touching what is right.
func TestSetRepairsDrift(t *testing.T) {
	c := newCluster(t)
	redA, redB, blueA, blueB := c.fourPods(t)
	before := linkIndexes(t, c.a)
	h := c.a.h
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	vx100, br100, br200 := link(t, c.a, "sbvx100"), link(t, c.a, "sbbr100"), link(t, c.a, "sbbr200")
	must(h.LinkSetLearning(vx100, true))
	must(h.LinkSetMTU(br100, 1400))
	must(h.AddrAdd(br200, &netlink.Addr{IPNet: &net.IPNet{IP: net.IPv4(10, 9, 9, 9), Mask: net.CIDRMask(24, 32)}}))
	stray := net.HardwareAddr{0x02, 0, 0, 0, 0, 0x99}
	must(h.NeighAppend(&netlink.Neigh{LinkIndex: vx100.Attrs().Index, Family: unix.AF_BRIDGE, Flags: netlink.NTF_SELF,
		State: netlink.NUD_PERMANENT, IP: net.ParseIP("198.18.200.9"), HardwareAddr: stray}))
	must(h.NeighSet(&netlink.Neigh{LinkIndex: vx100.Attrs().Index, State: netlink.NUD_PERMANENT,
		IP: net.ParseIP("10.100.0.99"), HardwareAddr: stray}))
	// sbvx200 is replaced by a device with the wrong VNI, detached and down.
	must(h.LinkDel(link(t, c.a, "sbvx200")))
	la := netlink.NewLinkAttrs()
	la.Name = "sbvx200"
	must(h.LinkAdd(&netlink.Vxlan{LinkAttrs: la, VxlanId: 999, Port: 4789, VtepDevIndex: link(t, c.a, "ul0").Attrs().Index}))

	if err := c.a.dp.Set(c.config(c.a)); err != nil {
		t.Fatal(err)
	}
	after := linkIndexes(t, c.a)
	for name, idx := range before {
		if name != "sbvx200" && after[name] != idx {
			t.Errorf("%s was recreated", name)
		}
	}
	vx200, ok := link(t, c.a, "sbvx200").(*netlink.Vxlan)
	if !ok || vx200.VxlanId != int(blue) || vx200.MasterIndex != br200.Attrs().Index || vx200.Flags&net.FlagUp == 0 {
		t.Errorf("sbvx200 not repaired: %+v", vx200)
	}
	if pi, err := h.LinkGetProtinfo(vx100); err != nil || pi.Learning {
		t.Errorf("sbvx100 port learning: %+v %v", pi, err)
	}
	if mtu := link(t, c.a, "sbbr100").Attrs().MTU; mtu != 1450 {
		t.Errorf("sbbr100 MTU %d, want 1450", mtu)
	}
	if addrs, _ := h.AddrList(br200, netlink.FAMILY_ALL); len(addrs) != 0 {
		t.Errorf("sbbr200 still has addresses %v", addrs)
	}
	if got := entries(t, c.a, red); containsLine(got, stray.String()) || containsLine(got, "10.100.0.99") {
		t.Errorf("stray entries left:\n%s", strings.Join(got, "\n"))
	}
	for _, pair := range [][2]*pod{{redA, redB}, {blueA, blueB}} {
		if got := pair[0].ns.Ping(t, pair[1].ip(), 2, "5"); got != 2 {
			t.Errorf("%s -> %s after repair: %d/2 replies", pair[0].ns.Name, pair[1].ns.Name, got)
		}
	}
}

// TestSetRejectsBadInput: node-wide errors change nothing; a bad network is
// reported and left alone while the others converge.
func TestSetRejectsBadInput(t *testing.T) {
	c := newCluster(t)
	redA, redB, _, _ := c.fourPods(t)
	before := linkIndexes(t, c.a)
	for _, cfg := range []dataplane.Config{
		{LocalIP: c.a.ip},
		{Underlay: "ul0"},
		{Underlay: "ul0", LocalIP: c.a.ip, Networks: map[uint32]dataplane.Network{1 << 24: {}}},
	} {
		if err := c.a.dp.Set(cfg); !errors.Is(err, dataplane.ErrInvalid) {
			t.Errorf("Set(%+v) = %v, want ErrInvalid", cfg, err)
		}
	}
	if err := c.a.dp.Set(dataplane.Config{Underlay: "nosuch0", LocalIP: c.a.ip}); err == nil {
		t.Error("Set with a missing underlay succeeded")
	}
	bad := c.config(c.a)
	nb := bad.Networks[blue]
	nb.Remotes = append(nb.Remotes, dataplane.Remote{NodeIP: c.b.ip, MAC: net.HardwareAddr{1, 0, 0x5e, 0, 0, 1}})
	bad.Networks[blue] = nb
	bad.Networks[300] = dataplane.Network{}
	err := c.a.dp.Set(bad)
	if !errors.Is(err, dataplane.ErrInvalid) || !strings.Contains(err.Error(), "network 200") {
		t.Errorf("Set with a multicast remote MAC: %v", err)
	}
	if got := linkIndexes(t, c.a); got["sbbr300"] == 0 || got["sbvx200"] != before["sbvx200"] {
		t.Errorf("good networks did not converge or the bad one was touched: %v", got)
	}
	if got := redA.ns.Ping(t, redB.ip(), 2, "5"); got != 2 {
		t.Errorf("red a -> red b: %d/2 replies", got)
	}
}
