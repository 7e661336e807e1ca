package wireguard

import (
	"crypto/rand"
	"fmt"
	"net/netip"
	"testing"

	"golang.org/x/sys/unix"

	"switchboard/internal/netnstest"
)

// vxlanInside makes a VXLAN device "sbvx" in g over its tunnel address
// towards peer's, as the edge carries its inter-cluster ports, with addr.
func vxlanInside(t testing.TB, g, peer *gateway, addr string) {
	t.Helper()
	for _, c := range [][]string{
		{"ip", "link", "add", "sbvx", "type", "vxlan", "id", "42", "local", g.addr(t).String(), "remote", peer.addr(t).String(), "dstport", "4790"},
		{"ip", "link", "set", "sbvx", "mtu", "1350", "up"},
		{"ip", "addr", "add", addr, "dev", "sbvx"},
	} {
		if out, err := g.ns.Exec(c...); err != nil {
			t.Fatalf("%s: %v: %v: %s", g.name, c, err, out)
		}
	}
}

// largeIO is how many large packets the embedded device of g has read from
// the kernel and written to it, and whether it asked for the tunnel offload
// at all.
func largeIO(t testing.TB, g *gateway) (read, written, tcp uint64, offload bool) {
	t.Helper()
	u, ok := g.eng.dev.b.(*userspaceDevice)
	if !ok {
		t.Skip("the kernel's WireGuard is in use; the TUN offload is the embedded device's")
	}
	o, ok := u.tun.(*nsTUN).Device.(*offloadTUN)
	if !ok {
		return 0, 0, 0, false
	}
	if o.rx == nil {
		t.Fatalf("%s: the device has no injector", g.name)
	}
	return o.large.Load(), o.merged.Load(), o.tcp.Load(), true
}

// TCP inside VXLAN inside the tunnel arrives whole both ways; the sending
// device reads the pod-side TCP stream as large packets that it cuts
// itself, not one small packet per read, and the receiving one writes the
// TCP segments inside VXLAN merged into large packets through its injector.
func TestVXLANInsideTunnelIsSegmentedByTheDevice(t *testing.T) {
	netnstest.RequireRoot(t)
	a, b := pair(t)
	a.reaches(t, b.addr(t))
	vxlanInside(t, a, b, "10.99.0.1/24")
	vxlanInside(t, b, a, "10.99.0.2/24")
	a.reaches(t, netip.MustParseAddr("10.99.0.2"))

	payload := make([]byte, 16<<20)
	if _, err := rand.Read(payload); err != nil {
		t.Fatal(err)
	}
	netnstest.Transfer(t, a.ns, b.ns, netip.MustParseAddr("10.99.0.2"), payload)
	netnstest.Transfer(t, b.ns, a.ns, netip.MustParseAddr("10.99.0.1"), payload)

	for _, g := range []*gateway{a, b} {
		n, merged, tcp, offload := largeIO(t, g)
		if !offload {
			if kernelAtLeast(t, 6, 17) {
				t.Fatalf("%s: the device did not ask for the UDP tunnel offload, which this kernel has (Linux 6.17 and later)", g.name)
			}
			t.Skipf("%s: this kernel (before Linux 6.17) has no UDP tunnel offload on TUN devices; the transfers above went one packet per read", g.name)
		}
		if n == 0 {
			t.Errorf("%s: the device read no large packet during a 16 MiB transfer inside VXLAN", g.name)
		}
		if merged == 0 {
			t.Errorf("%s: the device wrote no merged packet during a 16 MiB transfer inside VXLAN", g.name)
		}
		if tcp == 0 {
			t.Errorf("%s: the device wrote no TCP stream merged inside the tunnel through its injector", g.name)
		}
		t.Logf("%s: %d large packets read, %d written (%d TCP inside the tunnel)", g.name, n, merged, tcp)
	}
}

func kernelAtLeast(t testing.TB, major, minor int) bool {
	t.Helper()
	var u unix.Utsname
	if err := unix.Uname(&u); err != nil {
		t.Fatal(err)
	}
	var ma, mi int
	if _, err := fmt.Sscanf(unix.ByteSliceToString(u.Release[:]), "%d.%d", &ma, &mi); err != nil {
		t.Fatalf("kernel release %q: %v", u.Release, err)
	}
	return ma > major || ma == major && mi >= minor
}
