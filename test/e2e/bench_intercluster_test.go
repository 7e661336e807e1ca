//go:build e2e

package e2e

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"switchboard/internal/lab/kube"
)

// firstPing applies manifests[i] to clusters[i] at once and returns how
// long it took until a ping from pod from (in clusters[0]) to pod to (in
// clusters[len-1]) over net1 was answered.
func firstPing(b *testing.B, ctx context.Context, clusters []*kube.Cluster, manifests []string, ns, from, to string) time.Duration {
	start := time.Now()
	var wg sync.WaitGroup
	errs := make([]error, len(clusters))
	for i, k := range clusters {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = k.Apply(ctx, manifests[i])
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			b.Fatal(err)
		}
	}
	src, dst := clusters[0], clusters[len(clusters)-1]
	var ip string
	var addressed time.Duration
	for deadline := start.Add(5 * time.Minute); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if ip == "" {
			if st, err := dst.NetworkStatus(ctx, ns, to); err == nil {
				for _, s := range st {
					if s.Interface == "net1" && len(s.IPs) > 0 {
						ip = strings.Split(s.IPs[0], "/")[0]
						addressed = time.Since(start)
					}
				}
			}
			continue
		}
		if pingOK(ctx, src, ns, from, ip) {
			// Where the time went: until the destination pod had its
			// address on net1 (scheduling, sandbox, CNI, authorization),
			// and from then to the first answer (the data path).
			fmt.Printf("  %s/%s -> %s: %s had its net1 address after %.2f s, first answer %.2f s later\n",
				ns, from, to, to, addressed.Seconds(), (time.Since(start) - addressed).Seconds())
			return time.Since(start)
		}
	}
	b.Fatalf("%s/%s never answered %s/%s within 5 minutes", ns, to, ns, from)
	return 0
}

// BenchmarkInterCluster: the time from applying an ext-vnet network, a
// token and an authorized pod in each cluster to the first ping answered
// across the clusters, against the same for a plain vnet between two nodes
// of one cluster; then, across the clusters, pod-to-pod TCP throughput,
// ping latency and request/response rate through the edges' encrypted
// tunnel, against a WireGuard tunnel made by hand with Debian's
// wireguard-go between the same two gateway namespaces and against the
// bare WAN between them, in the same run (and, to show where the time
// goes, through the edges' own WireGuard interfaces between the gateways,
// without the inner VXLAN and the nodes); each leg of the pods' path
// beside its hand-made equivalent (node2 to the gateway against a
// hand-made VXLAN between the same nodes, gateway pod to gateway pod
// against the hand-made wireguard-go); last, the pings lost at 100/s
// while gateway a's edge rotates its key, against the same ping run
// without a rotation. Run it with -benchtime 1x (make bench does).
func BenchmarkInterCluster(b *testing.B) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
	defer cancel()
	a, bc := cluster(b, "a"), cluster(b, "b")
	const ns, net = "bench-ic", "bench-ic-net"
	u := newUser(b, ctx, "bench-user")
	u.register(b, ctx)
	pub := u.pub(b)
	defer func() {
		for _, k := range []*kube.Cluster{a, bc} {
			_, _ = k.Kubectl(context.Background(), "", "delete", "namespace", ns, "--wait=false")
		}
	}()
	// The peers live in the gateways' node namespaces: netcheck's discard
	// and echo services on b's, the hand-made WireGuard tunnel between both.
	h := &hostNets{b: b}
	gwA, gwB := handle.Clusters[0].Nodes[0], handle.Clusters[1].Nodes[0]
	h.serve(gwB.NetNS)
	wgB := h.handWireGuard(gwA, gwB)
	// The first leg's peer: a hand-made VXLAN from a-node2 (q1) to the
	// gateway a-node1 (q2), in this run's own namespaces.
	suffix := make([]byte, 2)
	_, _ = rand.Read(suffix)
	hq := &hostNets{b: b, prefix: "sbi" + hex.EncodeToString(suffix) + "-"}
	defer hq.cleanup()
	hq.labNodeVXLAN(handle.Clusters[0].Nodes[1], gwA)
	hq.serve("q2")

	for range b.N {
		for _, k := range []*kube.Cluster{a, bc} {
			_, _ = k.Kubectl(ctx, "", "delete", "namespace", ns, "--wait=true", "--timeout=120s")
		}
		// The peer: a plain vnet between the two nodes of cluster a.
		local := benchNamespace(ns) + "---\n" + network(ns, "local", "{cidr: 10.203.0.0/24}", "") + "---\n" +
			strings.Replace(icPod(ns, "l1", "a-node1", "local", "none"), "app: testbox", "app: local", 1) +
			"---\n" + strings.Replace(icPod(ns, "l2", "a-node2", "local", "none"), "app: testbox", "app: local", 1)
		localTime := firstPing(b, ctx, []*kube.Cluster{a}, []string{local}, ns, "l1", "l2")

		secret := u.secret(b, ctx, ns, "bench-token", net)
		manifests := make([]string, 2)
		for i, c := range handle.Clusters[:2] {
			manifests[i] = benchNamespace(ns) + "---\n" + extNetwork(ns, net, clusterRanges[c.Name], "bench-user", pub) +
				"---\n" + secret + "---\n" + withEcho(withCPU(icPod(ns, "p"+c.Name, c.Name+"-node2", net, "bench-token")))
		}
		interTime := firstPing(b, ctx, []*kube.Cluster{a, bc}, manifests, ns, "pa", "pb")
		// The legs' endpoints: a pod of the network on each gateway node.
		for i, k := range []*kube.Cluster{a, bc} {
			c := handle.Clusters[i]
			if err := k.Apply(ctx, withEcho(withCPU(icPod(ns, "g"+c.Name, c.Name+"-node1", net, "bench-token")))); err != nil {
				b.Fatal(err)
			}
		}
		fmt.Printf("Time from apply to the first ping answered:\n  plain vnet, 2 nodes of cluster a: %6.2f s\n  ext-vnet, cluster a -> cluster b: %6.2f s (ratio %.2f)\n",
			localTime.Seconds(), interTime.Seconds(), interTime.Seconds()/localTime.Seconds())
		b.ReportMetric(interTime.Seconds(), "first-ping-s")
		b.ReportMetric(interTime.Seconds()/localTime.Seconds(), "first-ping-ratio-vs-local")

		for _, k := range []*kube.Cluster{a, bc} {
			if err := k.WaitPodsReady(ctx, ns, "app=testbox", 2*time.Minute); err != nil {
				b.Fatal(err)
			}
		}
		ipB := strings.Split(netIP(b, ctx, bc, ns, "pb", "net1"), "/")[0]
		ipGA := strings.Split(netIP(b, ctx, a, ns, "ga", "net1"), "/")[0]
		ipGB := strings.Split(netIP(b, ctx, bc, ns, "gb", "net1"), "/")[0]
		waitPing(b, ctx, a, ns, "ga", ipGB, 90*time.Second)
		inPod := func(k *kube.Cluster, pod string) func(ctx context.Context, argv ...string) (string, error) {
			return func(ctx context.Context, argv ...string) (string, error) { return k.Exec(ctx, ns, pod, argv...) }
		}
		paths := []path{
			{"bare WAN, gateway to gateway", h.inNS(gwA.NetNS), gwB.WANIP.String()},
			{"hand-made wireguard-go, gateways", h.inNS(gwA.NetNS), wgB},
			// Where the pods' path loses against the peer: the edges' own
			// WireGuard (sbwg0) between the same namespaces, without the
			// inner VXLAN, the bridges and the nodes.
			{"switchboard sbwg0, gateways", h.inNS(gwA.NetNS), h.edgeTunnelAddr(gwB.NetNS)},
			{"switchboard ext-vnet, pods", inPod(a, "pa"), ipB},
			// The legs of the pods' path, each beside its hand-made
			// equivalent: a-node2 to gateway a over the cluster's VXLAN
			// (the b side is the same leg in reverse), and gateway pod to
			// gateway pod through the edges (against the hand-made
			// wireguard-go above).
			{"leg 1: hand-made VXLAN, node2 -> gw", hq.inNS("q1"), "10.83.0.2"},
			{"leg 1: switchboard, node2 -> gw pod", inPod(a, "pa"), ipGA},
			{"leg 2: switchboard, gw pod -> gw pod", inPod(a, "ga"), ipGB},
		}
		wan, wg, edge, sb := paths[0].name, paths[1].name, paths[2].name, paths[3].name
		vx1, leg1, leg2 := paths[4].name, paths[5].name, paths[6].name
		res := measureAll(b, ctx, paths)
		fmt.Printf("Inter-cluster path, netcheck send --discard 1 GiB in %d interleaved rounds (median), 200 pings at 100/s:\n", benchRounds)
		for _, p := range paths {
			fmt.Printf("  %-34s %8.0f Mbit/s   rtt avg %.3f ms\n", p.name, res[p.name].tput(), res[p.name].rtt)
		}
		fmt.Printf("  ratio switchboard/hand-made wireguard-go (median of per-round ratios): throughput %.2f, rtt %.2f\n",
			res[sb].ratio(res[wg]), res[sb].rtt/res[wg].rtt)
		fmt.Printf("  ratio switchboard/bare WAN: throughput %.2f, rtt %.2f\n", res[sb].ratio(res[wan]), res[sb].rtt/res[wan].rtt)
		fmt.Printf("  ratio switchboard sbwg0/hand-made wireguard-go (the engines alone): throughput %.2f\n", res[edge].ratio(res[wg]))
		b.ReportMetric(res[edge].ratio(res[wg]), "sbwg0-tput-ratio-vs-wireguard-go")
		b.ReportMetric(res[sb].tput(), "tput-Mbit/s")
		b.ReportMetric(res[sb].ratio(res[wg]), "tput-ratio-vs-wireguard-go")
		b.ReportMetric(res[sb].ratio(res[wan]), "tput-ratio-vs-wan")
		fmt.Printf("Legs, each against its hand-made equivalent (throughput ratio, median of per-round ratios; rtt ratio):\n")
		fmt.Printf("  leg 1, node2 -> gateway (VXLAN in the cluster):   %.2f, rtt %.2f\n", res[leg1].ratio(res[vx1]), res[leg1].rtt/res[vx1].rtt)
		fmt.Printf("  leg 2, gateway -> gateway (edges, WireGuard):     %.2f, rtt %.2f\n", res[leg2].ratio(res[wg]), res[leg2].rtt/res[wg].rtt)
		fmt.Printf("  whole path / slowest leg (leg 2):                  %.2f; rtt whole / (2 x leg 1 + leg 2): %.2f\n",
			res[sb].ratio(res[leg2]), res[sb].rtt/(2*res[leg1].rtt+res[leg2].rtt))
		b.ReportMetric(res[leg1].ratio(res[vx1]), "leg1-tput-ratio-vs-vxlan")
		b.ReportMetric(res[leg2].ratio(res[wg]), "leg2-tput-ratio-vs-wireguard-go")
		b.ReportMetric(res[sb].ratio(res[leg2]), "whole-tput-ratio-vs-leg2")

		rr := measureRR(b, ctx, paths)
		fmt.Printf("Request/response, netcheck rr (1-byte request and answer, one TCP connection) for %s in %d interleaved rounds (median):\n", rrFor, rrRounds)
		for _, p := range paths {
			fmt.Printf("  %-34s %8.0f transactions/s\n", p.name, median(rr[p.name]))
		}
		fmt.Printf("  ratio switchboard/hand-made wireguard-go %.2f, switchboard/bare WAN %.2f (medians of per-round ratios)\n",
			roundRatio(rr[sb], rr[wg]), roundRatio(rr[sb], rr[wan]))
		fmt.Printf("  legs: leg 1/hand-made VXLAN %.2f, leg 2/hand-made wireguard-go %.2f\n",
			roundRatio(rr[leg1], rr[vx1]), roundRatio(rr[leg2], rr[wg]))
		b.ReportMetric(median(rr[sb]), "rr-tps")
		b.ReportMetric(roundRatio(rr[sb], rr[wg]), "rr-ratio-vs-wireguard-go")
		b.ReportMetric(roundRatio(rr[sb], rr[wan]), "rr-ratio-vs-wan")

		rotationLoss(b, ctx, a, ns, ipB)
	}
}

// rotationLoss pings pb (at dst) from pa at 100/s for 10 s, first as is,
// then while gateway a's edge rotates its WireGuard key by command 2 s
// into the run, and reports the pings lost in each; then it waits for
// the traffic to come back.
func rotationLoss(b *testing.B, ctx context.Context, a *kube.Cluster, ns, dst string) {
	const interval, count = 10 * time.Millisecond, 1000
	sent, lost, err := pingRun(ctx, a, ns, "pa", dst, interval, count)
	if err != nil {
		b.Fatal(err)
	}
	r := pingThroughRotation(b, ctx, a, a, ns, "pa", dst, interval, count)
	back := waitPing(b, ctx, a, ns, "pa", dst, 60*time.Second)
	fmt.Printf("Pings lost, pod a -> pod b, %d at 100/s:\n  without a rotation:                     %d of %d\n  gateway a's edge rotates its key at 2 s: %d of %d (rotate-key took %s; next ping answered %s after the run)\n",
		count, lost, sent, r.lost, r.sent, r.took.Round(time.Millisecond), back.Round(time.Millisecond))
	b.ReportMetric(float64(r.lost), "rotation-lost-pkts")
	b.ReportMetric(float64(lost), "no-rotation-lost-pkts")
}

// withEcho has the testbox pods of a manifest serve netcheck's echo
// service on port 5003 too, for netcheck rr.
func withEcho(manifest string) string {
	return strings.ReplaceAll(manifest, "args: [netcheck, serve]", `args: [netcheck, serve, --echo, ":5003"]`)
}
