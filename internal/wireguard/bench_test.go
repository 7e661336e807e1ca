package wireguard

import (
	"net/netip"
	"testing"

	"switchboard/internal/netnstest"
)

// BenchmarkTunnelThroughput measures single-stream TCP throughput (iperf3,
// 5 s) between two namespaces joined by a veth WAN, in one run: over the
// bare veth; through this package's engine (both ends); through a VXLAN
// carried inside the engine's tunnel, as the edge carries its inter-cluster
// ports (MTU 1350, the pods' on an ext-vnet network); and through Debian's
// wireguard-go configured by hand with wg (both ends). It reports the
// engine's ratios to wireguard-go. make bench runs it with -benchtime 1x.
func BenchmarkTunnelThroughput(b *testing.B) {
	requireTools(b, "iperf3", "wireguard-go", "wg")
	var veth, engine, inside, plain, wggo float64
	b.Cleanup(func() { tunnelOffload = true })
	for range b.N {
		env := netnstest.NewPrefixed(b, "sbwg")
		x, y := newGateway(b, env, "a"), newGateway(b, env, "b")
		link(b, x, y, 10)
		veth += iperf(b, x.ns, y.ns, y.wan["a"])

		x.set(b, y)
		y.set(b, x)
		x.reaches(b, y.addr(b))
		engine += iperf(b, x.ns, y.ns, y.addr(b))
		vxlanInside(b, x, y, "10.99.0.1/24")
		vxlanInside(b, y, x, "10.99.0.2/24")
		x.reaches(b, netip.MustParseAddr("10.99.0.2"))
		inside += iperf(b, x.ns, y.ns, netip.MustParseAddr("10.99.0.2"))

		// The same engines without the UDP tunnel offload: one packet per
		// read, as before Linux 6.17.
		tunnelOffload = false
		x.restart(b, y)
		y.restart(b, x)
		x.reaches(b, netip.MustParseAddr("10.99.0.2"))
		plain += iperf(b, x.ns, y.ns, netip.MustParseAddr("10.99.0.2"))
		tunnelOffload = true
		if err := x.eng.Close(); err != nil {
			b.Fatal(err)
		}
		if err := y.eng.Close(); err != nil {
			b.Fatal(err)
		}

		rx, ry := startWireGuardGo(b, x.ns), startWireGuardGo(b, y.ns)
		rx.set(b, ry.pub(b), netip.AddrPortFrom(y.wan["a"], testPort))
		ry.set(b, rx.pub(b), netip.AddrPortFrom(x.wan["b"], testPort))
		x.reaches(b, TunnelAddress(ry.pub(b)))
		wggo += iperf(b, x.ns, y.ns, TunnelAddress(ry.pub(b)))
	}
	n := float64(b.N)
	b.ReportMetric(veth/n, "veth-Gbit/s")
	b.ReportMetric(engine/n, "engine-Gbit/s")
	b.ReportMetric(inside/n, "vxlan-inside-engine-Gbit/s")
	b.ReportMetric(plain/n, "vxlan-inside-engine-no-offload-Gbit/s")
	b.ReportMetric(wggo/n, "wireguard-go-Gbit/s")
	b.ReportMetric(engine/wggo, "engine/wireguard-go")
	b.ReportMetric(inside/wggo, "vxlan-inside-engine/wireguard-go")
	b.ReportMetric(plain/wggo, "vxlan-inside-engine-no-offload/wireguard-go")
}

// iperf runs netnstest.Iperf for 5 seconds and returns the throughput the
// server received, in Gbit/s.
func iperf(tb testing.TB, client, server *netnstest.NS, dst netip.Addr) float64 {
	tb.Helper()
	return netnstest.Iperf(tb, client, server, dst, netnstest.IperfRun{}) / 1e9
}
