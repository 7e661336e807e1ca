//go:build e2e

package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"switchboard/internal/lab"
	"switchboard/internal/lab/kube"
)

// allocPods is how many pods each round of BenchmarkAllocate200Pods creates at once.
const allocPods = 200

const (
	// wbKubeconfig is where the Whereabouts plugin finds its kubeconfig on
	// every node, the path its own daemonset install uses.
	wbKubeconfig = "/etc/cni/net.d/whereabouts.d/whereabouts.kubeconfig"
	// wbFlatFile is Whereabouts's flat configuration file on every node.
	wbFlatFile  = "/etc/cni/net.d/whereabouts.d/whereabouts.conf"
	wbNamespace = "bench-wb"
	sbNamespace = "bench-alloc"
)

// allocResult is what one round of pods measured.
type allocResult struct {
	ipam      string
	cluster   string
	pods      int             // how many the round created
	create    time.Duration   // the one kubectl create of every pod
	perPod    []time.Duration // from the create to each pod's address, sorted
	all       time.Duration   // from the create to the last pod's address, or the round's time limit
	complete  bool            // every pod had its address within the round's time limit
	addresses int             // distinct addresses over all pods
	dups      int             // pods whose address another pod also has
	delete    time.Duration   // from the delete to every pod gone
	left      int             // allocations left once every pod was gone
	settle    time.Duration   // from every pod gone to every sandbox torn down
}

// BenchmarkAllocate200Pods: 200 pods created at once on cluster a, 100 per
// node, each with one secondary interface: on a Switchboard Network with
// pool IPAM, and on a bridge network with Whereabouts v0.9.2 (built from
// the Go module proxy, its CRDs from its module source) as the IPAM, the
// peer in the same lab and run. It measures from the create to every pod
// having its address, counts duplicate addresses (any fails the run), then
// deletes the pods and checks that the pool is whole again.
func BenchmarkAllocate200Pods(b *testing.B) {
	ctx, cancel := context.WithTimeout(context.Background(), 55*time.Minute)
	defer cancel()
	c := handle.Clusters[0]
	k := setupAllocCluster(ctx, b, c)
	// The peer gets a time limit rather than failing the run: if it cannot
	// address every pod within it, that is its result (how many it did).
	wb := allocRound{k: k, nodes: c.Nodes[:2], pods: allocPods, ipam: "whereabouts", ns: wbNamespace, network: "wbnet", left: whereaboutsLeft, limit: 10 * time.Minute}
	sb := allocRound{k: k, nodes: c.Nodes[:2], pods: allocPods, ipam: "switchboard", ns: sbNamespace, network: "allocnet", left: attachmentsLeft, limit: 15 * time.Minute, mustFinish: true}
	b.ResetTimer()
	for i := range b.N {
		// Switchboard first, then alternating: a round also waits for the
		// nodes to have torn down every sandbox of the round before (see
		// settle), so the order should not matter; if it does, a second
		// iteration shows it.
		rounds := []allocRound{sb, wb}
		if i%2 == 1 {
			rounds = []allocRound{wb, sb}
		}
		res := map[string]allocResult{}
		printAllocHeader(fmt.Sprintf("%d pods created at once on cluster a (half per node)", allocPods))
		for _, r := range rounds {
			got, err := r.run(ctx)
			printAllocRow(got)
			if err != nil {
				b.Fatalf("%s: %v", r.ipam, err)
			}
			res[r.ipam] = got
		}
		b.StopTimer()
		printAllocRatio(res["whereabouts"], res["switchboard"])
		if !res["switchboard"].complete {
			b.Fatalf("switchboard: only %d of %d pods had an address within the limit", len(res["switchboard"].perPod), res["switchboard"].pods)
		}
		for _, r := range res {
			if r.dups > 0 {
				b.Fatalf("%s: %d pods share an address with another pod", r.ipam, r.dups)
			}
		}
		if res["switchboard"].left > 0 {
			b.Fatalf("switchboard: %d Attachments left after every pod was deleted", res["switchboard"].left)
		}
		b.ReportMetric(res["switchboard"].all.Seconds(), "sb-all-addressed-s")
		b.ReportMetric(res["whereabouts"].all.Seconds(), "wb-all-addressed-s")
		b.StartTimer()
	}
}

// setupAllocCluster readies cluster c for allocation rounds: Whereabouts
// (setupWhereabouts) and Switchboard network bench-alloc/allocnet with pool
// IPAM on 10.89.0.0/16; both are removed when b ends.
func setupAllocCluster(ctx context.Context, b *testing.B, c lab.Cluster) *kube.Cluster {
	k, err := kube.New(handle, c.Name)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { cleanupWhereabouts(k, c.Nodes) })
	if err := setupWhereabouts(ctx, k, c.Nodes); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		_, _ = k.Kubectl(ctx, "", "delete", "namespace", sbNamespace, "--ignore-not-found", "--wait=true", "--timeout=4m")
	})
	if err := k.Apply(ctx, benchNamespace(sbNamespace)+"---\n"+network(sbNamespace, "allocnet", "{cidr: 10.89.0.0/16}", "")); err != nil {
		b.Fatal(err)
	}
	if _, err := k.Kubectl(ctx, "", "wait", "-n", sbNamespace, "--for=condition=Ready", "network/allocnet", "--timeout=60s"); err != nil {
		b.Fatal(err)
	}
	return k
}

func printAllocHeader(what string) {
	fmt.Printf("Allocation, %s, seconds from the create:\n", what)
	fmt.Printf("  %-12s %7s %7s %9s %8s %8s %9s %9s %10s %8s %6s %7s\n", "ipam", "cluster", "create", "addressed", "p50", "p99", "all", "distinct", "duplicates", "delete", "left", "settle")
}

// printAllocRow prints a round's figures as soon as it ends, also when it
// failed part-way.
func printAllocRow(r allocResult) {
	all := fmt.Sprintf("%.1f", r.all.Seconds())
	if !r.complete {
		all = ">" + all
	}
	// p50 and p99 are over every pod: a pod without an address by the
	// limit counts as the limit, so they are lower bounds then.
	fmt.Printf("  %-12s %7s %7.1f %9d %8.1f %8.1f %9s %9d %10d %8.1f %6d %7.1f\n", r.ipam, r.cluster, r.create.Seconds(), len(r.perPod),
		pct(r.padded(), .5).Seconds(), pct(r.padded(), .99).Seconds(), all, r.addresses, r.dups, r.delete.Seconds(), r.left, r.settle.Seconds())
}

func printAllocRatio(wb, sb allocResult) {
	bound := ""
	if !wb.complete {
		bound = "< "
	}
	fmt.Printf("  ratio switchboard/whereabouts: all addressed %s%.2f, p50 %s%.2f\n", bound, sb.all.Seconds()/wb.all.Seconds(),
		bound, pct(sb.padded(), .5).Seconds()/pct(wb.padded(), .5).Seconds())
}

// padded is perPod with the round's limit for every pod left without an
// address.
func (r allocResult) padded() []time.Duration {
	p := slices.Clone(r.perPod)
	for len(p) < r.pods {
		p = append(p, r.all)
	}
	return p
}

// allocRound creates pods on one network of one cluster, measures, and
// deletes them.
type allocRound struct {
	k       *kube.Cluster
	nodes   []lab.Node // the pods are pinned to these in turn
	pods    int
	ipam    string
	ns      string
	network string
	limit   time.Duration // how long to wait for every pod's address
	// mustFinish makes running out of time an error; otherwise the round
	// reports the pods addressed by then.
	mustFinish bool
	// left counts the allocations left in the IPAM's own store.
	left func(ctx context.Context, k *kube.Cluster) (int, error)
}

func (r allocRound) run(ctx context.Context) (allocResult, error) {
	res := allocResult{ipam: r.ipam, cluster: r.k.Name, pods: r.pods}
	base, err := sandboxCount(ctx, r.nodes)
	if err != nil {
		return res, err
	}
	w, err := watchAddresses(ctx, r.k, r.ns, r.pods)
	if err != nil {
		return res, err
	}
	defer w.stop()
	start := time.Now()
	if _, err := r.k.Kubectl(ctx, allocManifest(r.ns, r.network, r.nodes, r.pods), "create", "-f", "-"); err != nil {
		return res, err
	}
	res.create = time.Since(start)
	seen, err := w.wait(ctx, time.Until(start.Add(r.limit)))
	if err != nil && !errors.Is(err, errTimeLimit) {
		return res, err
	}
	res.complete = err == nil
	for _, at := range seen {
		res.perPod = append(res.perPod, at.Sub(start))
	}
	slices.Sort(res.perPod)
	res.all = r.limit
	if res.complete {
		res.all = res.perPod[len(res.perPod)-1]
	}
	w.stop()
	if !res.complete && r.mustFinish {
		return res, fmt.Errorf("only %d of %d pods had an address within %s", len(res.perPod), r.pods, r.limit)
	}

	// The addresses as the pods have them now, read once more.
	ips, err := podAddresses(ctx, r.k, r.ns)
	if err != nil {
		return res, err
	}
	if res.complete && len(ips) != r.pods {
		return res, fmt.Errorf("%d of %d pods have an address on net1", len(ips), r.pods)
	}
	count := map[string]int{}
	for _, ip := range ips {
		count[ip]++
	}
	res.addresses = len(count)
	for _, n := range count {
		if n > 1 {
			res.dups += n
		}
	}

	start = time.Now()
	if _, err := r.k.Kubectl(ctx, "", "delete", "pods", "-n", r.ns, "-l", "app=alloc", "--wait=false"); err != nil {
		return res, err
	}
	if _, err := r.k.Kubectl(ctx, "", "wait", "-n", r.ns, "--for=delete", "pods", "-l", "app=alloc", "--timeout=10m"); err != nil {
		return res, err
	}
	res.delete = time.Since(start)
	// A pod object goes once its containers have stopped; the runtime tears
	// its sandbox down (CNI DEL) after that. Wait for every node to be back
	// to its sandbox count from before the round, so that the next round
	// does not pay for this one's teardown.
	start = time.Now()
	limit := max(10*time.Minute, time.Duration(r.pods)*2*time.Second)
	for deadline := start.Add(limit); ; time.Sleep(2 * time.Second) {
		n, err := sandboxCount(ctx, r.nodes)
		if err != nil {
			return res, err
		}
		if n <= base {
			break
		}
		if time.Now().After(deadline) {
			return res, fmt.Errorf("%d sandboxes left %s after the pods were gone (%d before the round)", n-base, limit, base)
		}
	}
	res.settle = time.Since(start)
	// Then count what is left in the IPAM's own store.
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(2 * time.Second) {
		if res.left, err = r.left(ctx, r.k); err != nil {
			return res, err
		}
		if res.left == 0 || time.Now().After(deadline) {
			return res, nil
		}
	}
}

// sandboxCount counts the pod network namespaces (cni-*, made by
// containerd for each sandbox) on the nodes.
func sandboxCount(ctx context.Context, nodes []lab.Node) (int, error) {
	n := 0
	for _, node := range nodes {
		cmd, err := handle.ExecCmd(ctx, node.Name, "ls", "/var/run/netns")
		if err != nil {
			return 0, err
		}
		out, err := cmd.Output()
		if err != nil {
			return 0, fmt.Errorf("list network namespaces of %s: %w", node.Name, err)
		}
		for _, name := range strings.Fields(string(out)) {
			if strings.HasPrefix(name, "cni-") {
				n++
			}
		}
	}
	return n, nil
}

// allocManifest is a List of pods sleeping testbox pods on network,
// pinned to the given nodes in turn, so that both IPAMs get the same
// split and the scheduler is out of the measurement.
func allocManifest(ns, network string, nodes []lab.Node, pods int) string {
	var s strings.Builder
	s.WriteString("apiVersion: v1\nkind: List\nitems:\n")
	for i := range pods {
		fmt.Fprintf(&s, `- apiVersion: v1
  kind: Pod
  metadata:
    name: alloc-%03d
    namespace: %s
    labels: {app: alloc}
    annotations: {k8s.v1.cni.cncf.io/networks: %s}
  spec:
    nodeName: %s
    terminationGracePeriodSeconds: 0
    containers: [{name: box, image: %s, imagePullPolicy: Never, args: [sleep, "3600"]}]
`, i, ns, network, nodes[i%len(nodes)].Name, lab.TestboxImage)
	}
	return s.String()
}

// podMeta is the part of a Pod the allocation benchmark reads.
type podMeta struct {
	Metadata struct {
		Name        string            `json:"name"`
		Annotations map[string]string `json:"annotations"`
	} `json:"metadata"`
}

// net1Address returns the pod's first address on net1 from its Multus
// network-status annotation, or "".
func net1Address(p podMeta) string {
	raw := p.Metadata.Annotations["k8s.v1.cni.cncf.io/network-status"]
	if raw == "" {
		return ""
	}
	var st []kube.NetworkStatus
	if json.Unmarshal([]byte(raw), &st) != nil {
		return ""
	}
	for _, s := range st {
		if s.Interface == "net1" && len(s.IPs) > 0 {
			return s.IPs[0]
		}
	}
	return ""
}

// podAddresses lists the net1 address of every pod labelled app=alloc.
func podAddresses(ctx context.Context, k *kube.Cluster, ns string) (map[string]string, error) {
	out, err := k.Kubectl(ctx, "", "get", "pods", "-n", ns, "-l", "app=alloc", "-o", "json")
	if err != nil {
		return nil, err
	}
	var list struct {
		Items []podMeta `json:"items"`
	}
	if err := json.Unmarshal([]byte(out), &list); err != nil {
		return nil, fmt.Errorf("parse pod list: %w", err)
	}
	ips := map[string]string{}
	for _, p := range list.Items {
		if ip := net1Address(p); ip != "" {
			ips[p.Metadata.Name] = ip
		}
	}
	return ips, nil
}
