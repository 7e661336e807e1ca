package wireguard

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"testing"

	"switchboard/internal/netnstest"

	"github.com/vishvananda/netlink"
)

func TestSetRefusesAnOpenKeyFileBeforeMakingAnything(t *testing.T) {
	path := filepath.Join(t.TempDir(), "wg.key")
	if _, err := LoadOrCreateKey(path); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	e := New(nil)
	err := e.Set(context.Background(), Config{Name: testDev, Netns: "/nonexistent", PrivateKeyFile: path, MTU: testMTU})
	var kfe *KeyFileError
	if !errors.As(err, &kfe) {
		t.Fatalf("Set: %v, want a *KeyFileError", err)
	}
	if _, err := e.Status(); err == nil {
		t.Error("a device was made despite the refused key")
	}
}

func TestTunnelCarriesTrafficAndSetIsIdempotent(t *testing.T) {
	a, b := pair(t)
	a.reaches(t, b.addr(t))
	b.reaches(t, a.addr(t))
	t.Logf("implementation: %s", a.status(t).Implementation)
	// The device's socket is in the gateway's namespace, not in the test
	// process's own: there the port is free.
	for _, network := range []string{"udp4", "udp6"} {
		if c, err := net.ListenUDP(network, &net.UDPAddr{Port: testPort}); err != nil {
			t.Errorf("the test's own namespace has port %d/%s taken: %v", testPort, network, err)
		} else {
			c.Close()
		}
	}

	st := a.status(t)
	if st.Address != netip.PrefixFrom(a.addr(t), 64) || st.ListenPort != testPort || len(st.Peers) != 1 {
		t.Fatalf("status %+v", st)
	}
	l, err := a.ns.Handle(t).LinkByName(testDev)
	if err != nil {
		t.Fatal(err)
	}
	if l.Attrs().MTU != testMTU || l.Attrs().Flags&net.FlagUp == 0 {
		t.Errorf("%s: MTU %d, flags %v; want %d, up", testDev, l.Attrs().MTU, l.Attrs().Flags, testMTU)
	}

	// The same Config again changes nothing: same device, same session.
	idx, before := a.ifindex(t), a.status(t).Peers[0]
	a.set(t, b)
	after := a.status(t).Peers[0]
	if a.ifindex(t) != idx || !after.LastHandshake.Equal(before.LastHandshake) || after.RxBytes < before.RxBytes {
		t.Errorf("a second Set disturbed the device: ifindex %d→%d, peer %+v → %+v", idx, a.ifindex(t), before, after)
	}

	// The MTU changes in place.
	c := a.config(t, b)
	c.MTU = 1400
	if err := a.eng.Set(context.Background(), c); err != nil {
		t.Fatal(err)
	}
	if l, _ := a.ns.Handle(t).LinkByName(testDev); l.Attrs().MTU != 1400 || l.Attrs().Index != idx {
		t.Errorf("MTU %d (ifindex %d), want 1400 on the same device", l.Attrs().MTU, l.Attrs().Index)
	}
	// wireguard-go reads the MTU from this goroutine's namespace unless
	// told otherwise; the embedded device must see the gateway's.
	if u, ok := a.eng.dev.b.(*userspaceDevice); ok {
		if mtu, err := u.tun.MTU(); mtu != 1400 {
			t.Errorf("the embedded device reads MTU %d (%v), want 1400", mtu, err)
		}
	}

	// A device deleted from outside is made again by the next Set.
	if err := deleteLink(a.ns.Handle(t), testDev); err != nil {
		t.Fatal(err)
	}
	a.set(t, b)
	a.reaches(t, b.addr(t))

	// Close removes it.
	if err := a.eng.Close(); err != nil {
		t.Fatal(err)
	}
	var nf netlink.LinkNotFoundError
	if _, err := a.ns.Handle(t).LinkByName(testDev); !errors.As(err, &nf) {
		t.Fatalf("after Close: %v, want no %s", err, testDev)
	}
}

func TestPeerEndpointChangesInPlace(t *testing.T) {
	env := netnstest.NewPrefixed(t, "sbwg")
	a, b, c := newGateway(t, env, "a"), newGateway(t, env, "b"), newGateway(t, env, "c")
	link(t, a, b, 10)
	link(t, a, c, 11)
	a.set(t, b, c)
	b.set(t, a)
	c.set(t, a)
	a.reaches(t, b.addr(t))
	a.reaches(t, c.addr(t))
	idx := a.ifindex(t)
	cBefore, _ := a.peerStatus(t, c.pub(t))

	// The a-b link moves to other WAN addresses (another subnet: deleting
	// a primary address takes its subnet's secondaries along); a and b are
	// told, then b's old address goes.
	ha, hb := a.ns.Handle(t), b.ns.Handle(t)
	wanA, err := ha.LinkByName("sbwgb")
	if err != nil {
		t.Fatal(err)
	}
	wanB, err := hb.LinkByName("sbwga")
	if err != nil {
		t.Fatal(err)
	}
	movedA, moved := netip.MustParseAddr("198.18.20.1"), netip.MustParseAddr("198.18.20.2")
	for _, x := range []struct {
		h *netlink.Handle
		l netlink.Link
		a netip.Addr
	}{{ha, wanA, movedA}, {hb, wanB, moved}} {
		if err := x.h.AddrAdd(x.l, &netlink.Addr{IPNet: netnstest.IPNet(netip.PrefixFrom(x.a, 24))}); err != nil {
			t.Fatal(err)
		}
	}
	old := b.wan["a"]
	a.wan["b"], b.wan["a"] = movedA, moved
	a.set(t, b, c)
	b.set(t, a)
	if err := hb.AddrDel(wanB, &netlink.Addr{IPNet: netnstest.IPNet(netip.PrefixFrom(old, 24))}); err != nil {
		t.Fatal(err)
	}
	a.reaches(t, b.addr(t))
	if p, _ := a.peerStatus(t, b.pub(t)); p.Endpoint != netip.AddrPortFrom(moved, testPort) {
		t.Errorf("b's endpoint is %s, want %s:%d", p.Endpoint, moved, testPort)
	}

	// Neither the device nor the unchanged peer c was recreated: a new
	// peer would have lost its session and started its counters at 0.
	cAfter, ok := a.peerStatus(t, c.pub(t))
	if a.ifindex(t) != idx || !ok || cAfter.RxBytes < cBefore.RxBytes || cAfter.TxBytes < cBefore.TxBytes || cAfter.LastHandshake.IsZero() {
		t.Errorf("changing b disturbed the rest: ifindex %d→%d, c %+v → %+v", idx, a.ifindex(t), cBefore, cAfter)
	}
	a.reaches(t, c.addr(t))
}

func TestPeerRemovalCutsTraffic(t *testing.T) {
	a, b := pair(t)
	a.reaches(t, b.addr(t)) // the positive control
	a.set(t)
	if _, ok := a.peerStatus(t, b.pub(t)); ok {
		t.Fatal("b is still a peer of a")
	}
	a.cutOff(t, b.addr(t))
	b.cutOff(t, a.addr(t))
	a.set(t, b)
	a.reaches(t, b.addr(t))
}

func TestRotateThenPeerResetResumesTraffic(t *testing.T) {
	a, b := pair(t)
	a.reaches(t, b.addr(t))
	oldPub, oldAddr := a.pub(t), a.addr(t)

	newPub, err := a.eng.Rotate(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if newPub == oldPub || a.pub(t) != newPub || a.eng.PublicKey() != newPub {
		t.Fatalf("rotate returned %s; key file has %s; old was %s", newPub, a.pub(t), oldPub)
	}
	if st, _ := os.Stat(a.keyFile); st.Mode().Perm() != 0o600 {
		t.Errorf("key file mode %04o after rotation, want 0600", st.Mode().Perm())
	}
	if got := a.status(t); got.PublicKey != newPub || got.Address.Addr() != TunnelAddress(newPub) || got.Address.Addr() == oldAddr {
		t.Errorf("device after rotation: key %s, address %s; want %s, %s", got.PublicKey, got.Address, newPub, TunnelAddress(newPub))
	}
	// b still expects the old key: no session.
	a.cutOff(t, b.addr(t))
	b.set(t, a) // reads a's new key from its file, as the IDCO would hand it over
	a.reaches(t, b.addr(t))
	b.reaches(t, a.addr(t))
	// a's next Set keeps the rotated key.
	a.set(t, b)
	if a.eng.PublicKey() != newPub {
		t.Error("Set after Rotate went back to another key")
	}
}
