//go:build e2e

package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"sort"
	"strings"
	"testing"
	"time"

	"switchboard/internal/lab"
	"switchboard/internal/lab/kube"
)

// frrRoutes returns FRR's view of its IPv4 BGP table: prefix → next hops,
// sorted.
func frrRoutes(ctx context.Context, f lab.Fabric) (map[string][]string, error) {
	out, err := exec.CommandContext(ctx, "vtysh", "--vty_socket", f.VtyDir, "-c", "show bgp ipv4 unicast json").CombinedOutput()
	if err != nil {
		return nil, fmt.Errorf("vtysh in %s: %w: %s", f.RouterNetNS, err, out)
	}
	var v struct {
		Routes map[string][]struct {
			NextHops []struct {
				IP string `json:"ip"`
			} `json:"nexthops"`
		} `json:"routes"`
	}
	if err := json.Unmarshal(out, &v); err != nil {
		return nil, fmt.Errorf("decode %q: %w", out, err)
	}
	routes := map[string][]string{}
	for p, paths := range v.Routes {
		for _, path := range paths {
			if len(path.NextHops) > 0 {
				routes[p] = append(routes[p], path.NextHops[0].IP)
			}
		}
		sort.Strings(routes[p])
	}
	return routes, nil
}

// waitFRR polls FRR's table until cond holds; the bound is generous (an
// update takes a second or two), the test asserts what must hold.
func waitFRR(t *testing.T, ctx context.Context, f lab.Fabric, what string, cond func(map[string][]string) bool) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		routes, err := frrRoutes(ctx, f)
		if err == nil && cond(routes) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("FRR in %s: %s: not within 60s; table %v (%v)", f.RouterNetNS, what, routes, err)
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// TestBGPFabric (lab up --frr): with a BGPPeer for the cluster's router
// and a BGPAdvertisement of pod ranges, each node's pod range appears in
// FRR with that node as next hop, the client namespace behind FRR pings a
// pod through it, an agent restart withdraws nothing (graceful restart),
// and deleting the advertisement withdraws the routes.
func TestBGPFabric(t *testing.T) {
	c := handle.Clusters[0]
	f := handle.Fabric(handle.Dir, c)
	if _, err := os.Stat("/run/netns/" + f.RouterNetNS); err != nil {
		t.Skipf("lab %s has no FRR router (lab up --frr): %v", handle.Name, err)
	}
	ctx := testContext(t, 5*time.Minute)
	k := cluster(t, c.Name)
	objects := fmt.Sprintf(`apiVersion: switchboard.dev/v1alpha1
kind: BGPPeer
metadata: {name: e2e-tor}
spec: {address: %s, asn: %d, myASN: %d}
---
apiVersion: switchboard.dev/v1alpha1
kind: BGPAdvertisement
metadata: {name: e2e-pods}
spec: {podCIDRs: true}
`, f.RouterIP, lab.FRRASN, lab.NodeASN)
	t.Cleanup(func() { _ = k.Delete(testContext(t, time.Minute), objects) })
	if err := k.Apply(ctx, objects); err != nil {
		t.Fatal(err)
	}

	podCIDRs := map[string]string{} // node IP → pod range
	for _, n := range c.Nodes {
		cidr, err := k.Kubectl(ctx, "", "get", "node", n.Name, "-o", "jsonpath={.spec.podCIDR}")
		if err != nil {
			t.Fatal(err)
		}
		podCIDRs[n.IP.String()] = strings.TrimSpace(cidr)
	}
	waitFRR(t, ctx, f, fmt.Sprintf("every node's pod range via that node %v", podCIDRs), func(r map[string][]string) bool {
		for ip, cidr := range podCIDRs {
			if strings.Join(r[cidr], " ") != ip {
				return false
			}
		}
		return true
	})

	manifest := kube.TestboxPods("bgp", c.Nodes[1:2], "")
	t.Cleanup(func() { _ = k.Delete(testContext(t, time.Minute), manifest) })
	if err := k.Apply(ctx, manifest); err != nil {
		t.Fatal(err)
	}
	if err := k.WaitPodsReady(ctx, "bgp", "app=testbox", 2*time.Minute); err != nil {
		t.Fatal(err)
	}
	podIP, err := k.PodIP(ctx, "bgp", "pod1")
	if err != nil {
		t.Fatal(err)
	}
	out, err := exec.CommandContext(ctx, "ip", "netns", "exec", f.ClientNetNS, "ping", "-n", "-c", "3", "-W", "2", podIP).CombinedOutput()
	if err != nil {
		t.Fatalf("ping pod %s on %s from the client %s through FRR: %v\n%s", podIP, c.Nodes[1].Name, f.ClientIP, err, out)
	}

	// An agent restart withdraws nothing (graceful restart): node 2's
	// range is in FRR at every look while its agent is replaced.
	n2 := c.Nodes[1]
	agentOn := func() string {
		out, err := k.Kubectl(ctx, "", "-n", "switchboard-system", "get", "pods", "-l", "app=switchboard-agent",
			"--field-selector", "spec.nodeName="+n2.Name, "-o", "jsonpath={range .items[*]}{.metadata.name}={.status.containerStatuses[0].ready} {end}")
		if err != nil {
			t.Fatal(err)
		}
		return strings.TrimSpace(out)
	}
	old := agentOn()
	name, _, _ := strings.Cut(old, "=")
	if _, err := k.Kubectl(ctx, "", "-n", "switchboard-system", "delete", "pod", name, "--wait=false"); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(3 * time.Minute)
	for looks := 0; ; looks++ {
		routes, err := frrRoutes(ctx, f)
		if err != nil {
			t.Fatal(err)
		}
		if got := strings.Join(routes[podCIDRs[n2.IP.String()]], " "); got != n2.IP.String() {
			t.Fatalf("look %d while the agent on %s restarts: FRR has %s via %q, want %s throughout (graceful restart); table %v",
				looks, n2.Name, podCIDRs[n2.IP.String()], got, n2.IP, routes)
		}
		if now := agentOn(); now != old && strings.HasSuffix(now, "=true") && !strings.Contains(now, " ") {
			t.Logf("agent on %s replaced (%s → %s); its range stayed in FRR through %d looks", n2.Name, old, now, looks)
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the agent on %s was not replaced and ready within 3m: %s", n2.Name, agentOn())
		}
		time.Sleep(200 * time.Millisecond)
	}
	out, err = exec.CommandContext(ctx, "ip", "netns", "exec", f.ClientNetNS, "ping", "-n", "-c", "3", "-W", "2", podIP).CombinedOutput()
	if err != nil {
		t.Fatalf("ping pod %s from the client after the agent restart: %v\n%s", podIP, err, out)
	}

	if _, err := k.Kubectl(ctx, "", "delete", "bgpadvertisement", "e2e-pods"); err != nil {
		t.Fatal(err)
	}
	waitFRR(t, ctx, f, "the pod ranges withdrawn", func(r map[string][]string) bool {
		for _, cidr := range podCIDRs {
			if len(r[cidr]) > 0 {
				return false
			}
		}
		return true
	})
}
