//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"time"

	"switchboard/internal/lab"
	"switchboard/internal/lab/kube"
)

// network returns a Network manifest; ipam is a YAML flow map or "".
func network(ns, name, ipam string, extra string) string {
	m := fmt.Sprintf("apiVersion: switchboard.dev/v1alpha1\nkind: Network\nmetadata: {name: %s, namespace: %s}\nspec:\n  type: vnet\n", name, ns)
	if ipam != "" {
		m += "  ipam: " + ipam + "\n"
	}
	return m + extra
}

// setupNetworks creates namespace ns with the given Network manifests and
// waits for each to be Ready. Everything is deleted when the test ends.
func setupNetworks(t *testing.T, ctx context.Context, k *kube.Cluster, ns string, networks ...string) {
	t.Helper()
	manifest := fmt.Sprintf("apiVersion: v1\nkind: Namespace\nmetadata: {name: %s}\n", ns)
	for _, n := range networks {
		manifest += "---\n" + n
	}
	t.Cleanup(func() {
		ctx := testContext(t, 2*time.Minute)
		_, _ = k.Kubectl(ctx, "", "delete", "pods", "-n", ns, "--all", "--wait=true", "--timeout=60s")
		_, _ = k.Kubectl(ctx, "", "delete", "namespace", ns, "--wait=true", "--timeout=90s")
	})
	if err := k.Apply(ctx, manifest); err != nil {
		t.Fatal(err)
	}
	if len(networks) == 0 {
		return
	}
	if _, err := k.Kubectl(ctx, "", "wait", "-n", ns, "--for=condition=Ready", "networks", "--all", "--timeout=60s"); err != nil {
		out, _ := k.Kubectl(ctx, "", "get", "networks", "-n", ns, "-o", "yaml")
		t.Fatalf("networks not Ready: %v\n%s", err, out)
	}
}

// netIP returns the first address of the pod's interface ifName, from the
// Multus network-status annotation.
func netIP(t testing.TB, ctx context.Context, k *kube.Cluster, ns, pod, ifName string) string {
	t.Helper()
	st, err := k.NetworkStatus(ctx, ns, pod)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range st {
		if s.Interface == ifName && len(s.IPs) > 0 {
			return s.IPs[0]
		}
	}
	t.Fatalf("pod %s/%s has no address on %s: network-status %+v", ns, pod, ifName, st)
	return ""
}

// twoNodes returns the first two nodes of cluster a.
func twoNodes() []lab.Node { return handle.Clusters[0].Nodes[:2] }

// TestNetworkIsolation: two pods on different nodes on network red reach
// each other (ping, 10 MB over TCP); a pod on network blue, with the very
// same CIDR, on the same nodes, reaches neither: no ping, no ARP answer
// (ARP requests are broadcasts, so this also shows broadcasts stay inside a
// network).
func TestNetworkIsolation(t *testing.T) {
	t.Parallel() // own namespace on cluster a; restarts nothing shared (see main_test.go)
	ctx := testContext(t, 4*time.Minute)
	k := cluster(t, "a")
	const ns = "iso"
	setupNetworks(t, ctx, k, ns,
		network(ns, "red", "{cidr: 10.50.0.0/24}", ""),
		network(ns, "blue", "{cidr: 10.50.0.0/24}", ""))
	red := kube.TestboxPods(ns, twoNodes(), `k8s.v1.cni.cncf.io/networks: red`)
	blue := strings.ReplaceAll(kube.TestboxPods(ns, twoNodes()[:1], `k8s.v1.cni.cncf.io/networks: blue`), "name: pod1", "name: blue1")
	if err := k.Apply(ctx, red+"---\n"+blue); err != nil {
		t.Fatal(err)
	}
	if err := k.WaitPodsReady(ctx, ns, "app=testbox", 2*time.Minute); err != nil {
		t.Fatal(err)
	}
	red1, red2, blue1 := netIP(t, ctx, k, ns, "pod1", "net1"), netIP(t, ctx, k, ns, "pod2", "net1"), netIP(t, ctx, k, ns, "blue1", "net1")
	t.Logf("red: pod1 %s (node1), pod2 %s (node2); blue: blue1 %s (node1)", red1, red2, blue1)
	if out, err := k.Exec(ctx, ns, "pod1", "ping", "-c", "3", "-W", "2", "-I", "net1", red2); err != nil {
		t.Fatalf("red pod1 -> red pod2 across nodes: %v\n%s", err, out)
	}
	out, err := k.Exec(ctx, ns, "pod1", "netcheck", "send", "--bytes", "10485760", red2+":5001")
	if err != nil || !strings.Contains(out, "sha256 ok") {
		t.Fatalf("10 MB red pod1 -> red pod2: %v\n%s", err, out)
	}
	t.Log(strings.TrimSpace(out))
	for _, dst := range []string{red1, red2} {
		if out, err := k.Exec(ctx, ns, "blue1", "ping", "-c", "2", "-W", "1", "-I", "net1", dst); err == nil {
			t.Fatalf("blue pod reached red %s:\n%s", dst, out)
		}
		if out, err := k.Exec(ctx, ns, "blue1", "arping", "-c", "2", "-w", "2", "-I", "net1", dst); err == nil {
			t.Fatalf("blue pod got an ARP answer for red %s:\n%s", dst, out)
		}
	}
	// The same ARP check that fails from blue succeeds inside red: the check can fail.
	if out, err := k.Exec(ctx, ns, "pod1", "arping", "-c", "2", "-w", "2", "-I", "net1", red2); err != nil {
		t.Fatalf("red pod1 got no ARP answer from red pod2: %v\n%s", err, out)
	}
}

// TestTwoNetworksOnePod: a pod asking for two Switchboard networks with
// interface names of its choice gets them, each with an address from its
// network, beside the primary eth0.
func TestTwoNetworksOnePod(t *testing.T) {
	t.Parallel() // own namespace on cluster a; restarts nothing shared (see main_test.go)
	ctx := testContext(t, 3*time.Minute)
	k := cluster(t, "a")
	const ns = "multi"
	setupNetworks(t, ctx, k, ns,
		network(ns, "green", "{cidr: 10.61.0.0/24}", ""),
		network(ns, "yellow", "{cidr: 10.62.0.0/24}", ""))
	ann := `k8s.v1.cni.cncf.io/networks: '[{"name": "green", "interface": "green0"}, {"name": "yellow", "interface": "yellow0"}]'`
	if err := k.Apply(ctx, kube.TestboxPods(ns, twoNodes()[:1], ann)); err != nil {
		t.Fatal(err)
	}
	if err := k.WaitPodsReady(ctx, ns, "app=testbox", 2*time.Minute); err != nil {
		t.Fatal(err)
	}
	for iface, cidr := range map[string]string{"green0": "10.61.0.0/24", "yellow0": "10.62.0.0/24"} {
		ip := netIP(t, ctx, k, ns, "pod1", iface)
		if p, err := netip.ParseAddr(ip); err != nil || !netip.MustParsePrefix(cidr).Contains(p) {
			t.Fatalf("%s has %q, want an address in %s", iface, ip, cidr)
		}
		out, err := k.Exec(ctx, ns, "pod1", "ip", "-o", "-4", "addr", "show", "dev", iface)
		if err != nil || !strings.Contains(out, ip+"/24") {
			t.Fatalf("%s in the pod does not hold %s/24: %v %s", iface, ip, err, out)
		}
	}
	if out, err := k.Exec(ctx, ns, "pod1", "ip", "-o", "-4", "addr", "show", "dev", "eth0"); err != nil || !strings.Contains(out, "10.10.") {
		t.Fatalf("primary eth0 missing or wrong: %v %s", err, out)
	}
}

// TestSeedL2smNAD: a NetworkAttachmentDefinition in seed 000's format
// ("type": "l2sm", pure L2) works as a network for pods that name it; the
// pods take static addresses from the annotation.
func TestSeedL2smNAD(t *testing.T) {
	t.Parallel() // own namespace on cluster a; restarts nothing shared (see main_test.go)
	ctx := testContext(t, 3*time.Minute)
	k := cluster(t, "a")
	const ns = "seed"
	nad := `apiVersion: "k8s.cni.cncf.io/v1"
kind: NetworkAttachmentDefinition
metadata:
  name: sample-network
  namespace: seed
spec:
  config: '{
      "cniVersion": "0.3.0",
      "type": "l2sm",
      "device": "l2sm-vNet"
    }'
`
	setupNetworks(t, ctx, k, ns) // namespace only
	if err := k.Apply(ctx, nad); err != nil {
		t.Fatal(err)
	}
	if _, err := k.Kubectl(ctx, "", "wait", "-n", ns, "--for=condition=Ready", "network/sample-network", "--timeout=60s"); err != nil {
		t.Fatalf("the operator did not make a Network of the l2sm NAD: %v", err)
	}
	manifest := ""
	for i, n := range twoNodes() {
		ann := fmt.Sprintf(`k8s.v1.cni.cncf.io/networks: '[{"name": "sample-network", "ips": ["10.70.0.%d/24"]}]'`, i+1)
		manifest += strings.ReplaceAll(kube.TestboxPods(ns, []lab.Node{n}, ann), "name: pod1", fmt.Sprintf("name: pod%d", i+1)) + "---\n"
	}
	if err := k.Apply(ctx, manifest); err != nil {
		t.Fatal(err)
	}
	if err := k.WaitPodsReady(ctx, ns, "app=testbox", 2*time.Minute); err != nil {
		t.Fatal(err)
	}
	if out, err := k.Exec(ctx, ns, "pod1", "ping", "-c", "3", "-W", "2", "10.70.0.2"); err != nil {
		t.Fatalf("ping over the l2sm network across nodes: %v\n%s", err, out)
	}
}

// TestIPv6Network: a network with an IPv6 pool gives pods on different
// nodes IPv6 addresses that reach each other.
func TestIPv6Network(t *testing.T) {
	t.Parallel() // own namespace on cluster a; restarts nothing shared (see main_test.go)
	ctx := testContext(t, 3*time.Minute)
	k := cluster(t, "a")
	const ns = "v6"
	setupNetworks(t, ctx, k, ns, network(ns, "six", "{cidr: 'fd00:83::/64'}", ""))
	if err := k.Apply(ctx, kube.TestboxPods(ns, twoNodes(), `k8s.v1.cni.cncf.io/networks: six`)); err != nil {
		t.Fatal(err)
	}
	if err := k.WaitPodsReady(ctx, ns, "app=testbox", 2*time.Minute); err != nil {
		t.Fatal(err)
	}
	dst := netIP(t, ctx, k, ns, "pod2", "net1")
	if a, err := netip.ParseAddr(dst); err != nil || !netip.MustParsePrefix("fd00:83::/64").Contains(a) {
		t.Fatalf("pod2 has %q, want an address in fd00:83::/64", dst)
	}
	if out, err := k.Exec(ctx, ns, "pod1", "ping6", "-c", "3", "-W", "2", "-I", "net1", dst); err != nil {
		t.Fatalf("ping6 across nodes: %v\n%s", err, out)
	}
}
