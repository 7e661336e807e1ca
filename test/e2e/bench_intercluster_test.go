//go:build e2e

package e2e

import (
	"context"
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
	for deadline := start.Add(5 * time.Minute); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if ip == "" {
			if st, err := dst.NetworkStatus(ctx, ns, to); err == nil {
				for _, s := range st {
					if s.Interface == "net1" && len(s.IPs) > 0 {
						ip = strings.Split(s.IPs[0], "/")[0]
					}
				}
			}
			continue
		}
		if pingOK(ctx, src, ns, from, ip) {
			return time.Since(start)
		}
	}
	b.Fatalf("%s/%s never answered %s/%s within 5 minutes", ns, to, ns, from)
	return 0
}

// BenchmarkInterCluster: the time from applying an ext-vnet network, a
// token and an authorized pod in each cluster to the first ping answered
// across the clusters, against the same for a plain vnet between two nodes
// of one cluster; then inter-cluster pod-to-pod TCP throughput and ping
// latency through the edges, against the bare WAN link between the two
// gateways, in the same run.
func BenchmarkInterCluster(b *testing.B) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
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
				"---\n" + secret + "---\n" + withCPU(icPod(ns, "p"+c.Name, c.Name+"-node2", net, "bench-token"))
		}
		interTime := firstPing(b, ctx, []*kube.Cluster{a, bc}, manifests, ns, "pa", "pb")
		fmt.Printf("Time from apply to the first ping answered:\n  plain vnet, 2 nodes of cluster a: %6.2f s\n  ext-vnet, cluster a -> cluster b: %6.2f s (ratio %.2f)\n",
			localTime.Seconds(), interTime.Seconds(), interTime.Seconds()/localTime.Seconds())
		b.ReportMetric(interTime.Seconds(), "first-ping-s")
		b.ReportMetric(interTime.Seconds()/localTime.Seconds(), "first-ping-ratio-vs-local")

		// Throughput and latency: the pods through the edges, and the bare
		// WAN between the gateways (their node namespaces).
		ipB := strings.Split(netIP(b, ctx, bc, ns, "pb", "net1"), "/")[0]
		h := &hostNets{b: b}
		gwA, gwB := handle.Clusters[0].Nodes[0], handle.Clusters[1].Nodes[0]
		h.serve(gwB.NetNS)
		paths := []path{
			{"bare WAN, gateway to gateway", h.inNS(gwA.NetNS), gwB.WANIP.String()},
			{"switchboard ext-vnet, pods", func(ctx context.Context, argv ...string) (string, error) {
				return a.Exec(ctx, ns, "pa", argv...)
			}, ipB},
		}
		res := measureAll(b, ctx, paths)
		fmt.Printf("Inter-cluster path, netcheck send --discard 1 GiB in %d interleaved rounds (median), 200 pings at 100/s:\n", benchRounds)
		for _, p := range paths {
			fmt.Printf("  %-30s %8.0f Mbit/s   rtt avg %.3f ms\n", p.name, res[p.name].tput(), res[p.name].rtt)
		}
		sb, wan := res[paths[1].name], res[paths[0].name]
		fmt.Printf("  ratio switchboard/bare WAN (median of per-round ratios): throughput %.2f, rtt %.2f\n", sb.ratio(wan), sb.rtt/wan.rtt)
		b.ReportMetric(sb.ratio(wan), "tput-ratio-vs-wan")
	}
}
