//go:build e2e

package e2e

import (
	"net/netip"
	"strings"
	"testing"
	"time"

	"switchboard/internal/lab"
	"switchboard/internal/lab/kube"
)

// TestSmokePrimaryNetwork: in every cluster, pods on both nodes get primary
// addresses from their node's pod CIDR and reach each other (ICMP and TCP).
func TestSmokePrimaryNetwork(t *testing.T) {
	for _, c := range handle.Clusters {
		t.Run("cluster-"+c.Name, func(t *testing.T) {
			t.Parallel()
			ctx := testContext(t, 3*time.Minute)
			k := cluster(t, c.Name)
			nodes, err := k.Kubectl(ctx, "", "get", "nodes", "-o", `jsonpath={range .items[*]}{.metadata.name}={.status.conditions[?(@.type=="Ready")].status}{" "}{end}`)
			if err != nil {
				t.Fatal(err)
			}
			if got, want := strings.TrimSpace(nodes), c.Name+"-node1=True "+c.Name+"-node2=True"; got != want {
				t.Fatalf("nodes: got %q, want %q", got, want)
			}
			manifest := kube.TestboxPods("smoke", c.Nodes[:2], "")
			t.Cleanup(func() { _ = k.Delete(testContext(t, time.Minute), manifest) })
			if err := k.Apply(ctx, manifest); err != nil {
				t.Fatal(err)
			}
			if err := k.WaitPodsReady(ctx, "smoke", "app=testbox", 2*time.Minute); err != nil {
				t.Fatal(err)
			}
			ips := map[string]string{}
			for _, pod := range []string{"pod1", "pod2"} {
				ip, err := k.PodIP(ctx, "smoke", pod)
				if err != nil {
					t.Fatal(err)
				}
				addr, err := netip.ParseAddr(ip)
				if err != nil || !c.PodCIDR.Contains(addr) {
					t.Fatalf("%s has IP %q, want one in the cluster pod CIDR %s", pod, ip, c.PodCIDR)
				}
				ips[pod] = ip
			}
			if ips["pod1"] == ips["pod2"] {
				t.Fatalf("both pods have IP %s", ips["pod1"])
			}
			for src, dst := range map[string]string{"pod1": "pod2", "pod2": "pod1"} {
				if out, err := k.Exec(ctx, "smoke", src, "ping", "-c", "3", "-W", "2", ips[dst]); err != nil {
					t.Fatalf("ping %s -> %s (%s) across nodes: %v\n%s", src, dst, ips[dst], err, out)
				}
				out, err := k.Exec(ctx, "smoke", src, "netcheck", "get", "http://"+ips[dst]+":8080/")
				if err != nil {
					t.Fatalf("HTTP %s -> %s: %v", src, dst, err)
				}
				if !strings.Contains(out, `"hostname":"`+dst+`"`) {
					t.Fatalf("HTTP %s -> %s answered by the wrong pod: %s", src, dst, out)
				}
			}
		})
	}
}

// TestSmokeMultusSecondInterface: a pod that names a NetworkAttachmentDefinition
// (reference bridge + host-local) gets a second interface from Multus with an
// address from that network, and reaches another pod over it.
func TestSmokeMultusSecondInterface(t *testing.T) {
	ctx := testContext(t, 3*time.Minute)
	c := handle.Clusters[0]
	k := cluster(t, c.Name)
	nad := `apiVersion: k8s.cni.cncf.io/v1
kind: NetworkAttachmentDefinition
metadata: {name: side, namespace: multus}
spec:
  config: '{"cniVersion": "1.0.0", "name": "side", "type": "bridge", "bridge": "side0",
            "ipam": {"type": "host-local", "ranges": [[{"subnet": "172.31.77.0/24"}]]}}'
`
	// Both pods on one node: the reference bridge is node-local.
	one := []lab.Node{c.Nodes[0], c.Nodes[0]}
	manifest := kube.TestboxPods("multus", one, `k8s.v1.cni.cncf.io/networks: side`) + "---\n" + nad
	t.Cleanup(func() { _ = k.Delete(testContext(t, time.Minute), manifest) })
	// The network first: a pod that names a missing network would wait for it.
	if err := k.Apply(ctx, "apiVersion: v1\nkind: Namespace\nmetadata: {name: multus}\n---\n"+nad); err != nil {
		t.Fatal(err)
	}
	if err := k.Apply(ctx, manifest); err != nil {
		t.Fatal(err)
	}
	if err := k.WaitPodsReady(ctx, "multus", "app=testbox", 2*time.Minute); err != nil {
		t.Fatal(err)
	}
	side := map[string]string{}
	for _, pod := range []string{"pod1", "pod2"} {
		st, err := k.NetworkStatus(ctx, "multus", pod)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range st {
			if s.Name == "multus/side" {
				if s.Interface != "net1" || len(s.IPs) != 1 || !strings.HasPrefix(s.IPs[0], "172.31.77.") {
					t.Fatalf("%s: side network status %+v, want net1 with a 172.31.77.x address", pod, s)
				}
				side[pod] = s.IPs[0]
			}
		}
		if side[pod] == "" {
			t.Fatalf("%s: no multus/side entry in network-status %+v", pod, st)
		}
		out, err := k.Exec(ctx, "multus", pod, "ip", "-o", "-4", "addr", "show", "dev", "net1")
		if err != nil || !strings.Contains(out, side[pod]+"/24") {
			t.Fatalf("%s: net1 in the pod does not hold %s: %v %s", pod, side[pod], err, out)
		}
	}
	if out, err := k.Exec(ctx, "multus", "pod1", "ping", "-c", "2", "-W", "2", "-I", "net1", side["pod2"]); err != nil {
		t.Fatalf("ping over the Multus network: %v\n%s", err, out)
	}
}
