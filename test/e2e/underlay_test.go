//go:build e2e

package e2e

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"switchboard/internal/lab"
	"switchboard/internal/lab/kube"
)

// counting is a "netcheck count" running in a pod.
type counting struct {
	pod  string
	done chan struct{}
	out  strings.Builder // its stdout: "marker count" lines
	err  error
}

// countFrames starts counting probe frames with markers on the pod's net1
// for dur, and returns once the counter listens.
func countFrames(t *testing.T, ctx context.Context, k *kube.Cluster, ns, pod string, markers []string, dur time.Duration) *counting {
	t.Helper()
	cmd, err := handle.KubectlCmd(ctx, k.Name, "exec", "-n", ns, pod, "--",
		"netcheck", "count", "--iface", "net1", "--marker", strings.Join(markers, ","), "--for", dur.String())
	if err != nil {
		t.Fatal(err)
	}
	c := &counting{pod: pod, done: make(chan struct{})}
	cmd.Stdout = &c.out
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	listening := make(chan struct{})
	var stderrText strings.Builder
	var once sync.Once
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			stderrText.WriteString(sc.Text() + "\n")
			if strings.HasPrefix(sc.Text(), "listening on") {
				once.Do(func() { close(listening) })
			}
		}
		c.err = cmd.Wait()
		if c.err != nil {
			c.err = fmt.Errorf("netcheck count in %s: %w: %s", pod, c.err, stderrText.String())
		}
		close(c.done)
	}()
	select {
	case <-listening:
	case <-c.done:
		t.Fatalf("netcheck count in %s ended before listening: %v", pod, c.err)
	case <-time.After(time.Minute):
		t.Fatalf("netcheck count in %s: not listening after a minute", pod)
	}
	return c
}

// result waits for the counter to end and returns its counts by marker.
func (c *counting) result(t *testing.T) map[string]int {
	t.Helper()
	<-c.done
	if c.err != nil {
		t.Fatal(c.err)
	}
	counts := map[string]int{}
	for _, line := range strings.Split(strings.TrimSpace(c.out.String()), "\n") {
		m, v, ok := strings.Cut(line, " ")
		n, err := strconv.Atoi(v)
		if !ok || err != nil {
			t.Fatalf("netcheck count in %s printed %q", c.pod, c.out.String())
		}
		counts[m] = n
	}
	return counts
}

func marker(t *testing.T, what string) string {
	b := make([]byte, 4)
	rand.Read(b)
	return what + "-" + hex.EncodeToString(b)
}

const injected = 10

// TestUnderlayAdmission: pods of network blue and a pod with no extra
// network send VXLAN datagrams carrying red's VNI to every node's port
// 4789; red's pods receive none of the frames inside. Controls: the same
// probe frame sent raw by a red pod reaches the other red pod (the
// counters and the network work), and the same VXLAN datagram sent from a
// node's address reaches red (the datagrams are well formed: it is the
// node's table that stops the pods'). Then, with the table removed by
// hand, the pods' datagrams get in (the hole the table closes), and an
// agent restart puts the table back.
func TestUnderlayAdmission(t *testing.T) {
	ctx := testContext(t, 8*time.Minute)
	k := cluster(t, "a")
	const ns = "underlay"
	nodes := twoNodes()
	setupNetworks(t, ctx, k, ns,
		network(ns, "red", "{cidr: 10.71.0.0/24}", ""),
		network(ns, "blue", "{cidr: 10.72.0.0/24}", ""))
	pods := kube.TestboxPods(ns, nodes, `k8s.v1.cni.cncf.io/networks: red`) // pod1 on node1, pod2 on node2
	pods += "---\n" + strings.ReplaceAll(kube.TestboxPods(ns, nodes[:1], `k8s.v1.cni.cncf.io/networks: blue`), "name: pod1", "name: blue1")
	pods += "---\n" + strings.ReplaceAll(kube.TestboxPods(ns, nodes[1:], `note: no-extra-network`), "name: pod1", "name: bare1")
	if err := k.Apply(ctx, pods); err != nil {
		t.Fatal(err)
	}
	if err := k.WaitPodsReady(ctx, ns, "app=testbox", 2*time.Minute); err != nil {
		t.Fatal(err)
	}
	vni, err := k.Kubectl(ctx, "", "get", "network", "-n", ns, "red", "-o", "jsonpath={.status.vni}")
	if err != nil || strings.TrimSpace(vni) == "" {
		t.Fatalf("red's VNI: %q, %v", vni, err)
	}
	vni = strings.TrimSpace(vni)
	var nodeIPs []string
	for _, n := range nodes {
		nodeIPs = append(nodeIPs, n.IP.String())
	}
	t.Logf("red VNI %s; nodes %v", vni, nodeIPs)

	attacks := func(round string) map[string]string { // attacker pod → marker
		return map[string]string{"blue1": marker(t, round+"-member"), "bare1": marker(t, round+"-bare")}
	}
	inject := func(m map[string]string) {
		t.Helper()
		for pod, mk := range m {
			argv := append([]string{"netcheck", "vxlan", "--vni", vni, "--marker", mk, "--count", strconv.Itoa(injected)}, nodeIPs...)
			if out, err := k.Exec(ctx, ns, pod, argv...); err != nil {
				t.Fatalf("inject from %s: %v\n%s", pod, err, out)
			}
		}
	}
	// round counts, in red's pods, the attackers' frames and the controls'.
	round := func(name string) (map[string]map[string]int, map[string]string) {
		t.Helper()
		att := attacks(name)
		raw, fromNode := marker(t, name+"-raw"), marker(t, name+"-node")
		all := []string{att["blue1"], att["bare1"], raw, fromNode}
		counters := map[string]*counting{}
		for _, pod := range []string{"pod1", "pod2"} {
			counters[pod] = countFrames(t, ctx, k, ns, pod, all, 15*time.Second)
		}
		inject(att)
		// Controls, after the attacks: raw from red pod1 (reaches pod2
		// on the other node), VXLAN from node2's own address to node1
		// (reaches pod1).
		if out, err := k.Exec(ctx, ns, "pod1", "netcheck", "frames", "--iface", "net1", "--marker", raw, "--count", strconv.Itoa(injected)); err != nil {
			t.Fatalf("raw frames from pod1: %v\n%s", err, out)
		}
		onNodeOK(t, ctx, nodes[1], filepath.Join(labCfg.ImageBin, "netcheck"), "vxlan", "--vni", vni, "--marker", fromNode,
			"--count", strconv.Itoa(injected), "--from", nodes[1].IP.String(), nodes[0].IP.String())
		got := map[string]map[string]int{}
		for pod, c := range counters {
			got[pod] = c.result(t)
		}
		return got, map[string]string{"raw": raw, "node": fromNode, "member": att["blue1"], "bare": att["bare1"]}
	}

	got, mk := round("table")
	t.Logf("with the table: %v", got)
	if got["pod2"][mk["raw"]] != injected || got["pod1"][mk["node"]] != injected {
		t.Fatalf("controls: raw frames pod1 → pod2 %d of %d, VXLAN from node2's address → pod1 %d of %d; want all: the probe does not work",
			got["pod2"][mk["raw"]], injected, got["pod1"][mk["node"]], injected)
	}
	for _, pod := range []string{"pod1", "pod2"} {
		for _, who := range []string{"member", "bare"} {
			if n := got[pod][mk[who]]; n != 0 {
				t.Errorf("red %s received %d frames injected by the %s pod (VXLAN with red's VNI to every node); want 0", pod, n, who)
			}
		}
	}

	// Without the table (removed by hand on both nodes) the same injection
	// gets in: the hole the table closes.
	for _, n := range nodes {
		onNodeOK(t, ctx, n, "nft", "delete", "table", "inet", "switchboard")
	}
	got, mk = round("notable")
	t.Logf("without the table: %v", got)
	restored := false // by an agent's periodic resync, during the round
	for _, n := range nodes {
		cmd, err := handle.ExecCmd(ctx, n.Name, "nft", "list", "tables")
		if err != nil {
			t.Fatal(err)
		}
		out, _ := cmd.CombinedOutput()
		restored = restored || strings.Contains(string(out), "switchboard")
	}
	if n := got["pod1"][mk["bare"]] + got["pod2"][mk["bare"]]; n == 0 && !restored {
		t.Errorf("without the table, red received none of the bare pod's frames: the test cannot see the hole")
	}
	// An agent restart puts the table back, with both nodes in its set.
	if _, err := k.Kubectl(ctx, "", "delete", "pods", "-n", "switchboard-system", "-l", "app=switchboard-agent", "--wait=true"); err != nil {
		t.Fatal(err)
	}
	if _, err := k.Kubectl(ctx, "", "rollout", "status", "-n", "switchboard-system", "daemonset/switchboard-agent", "--timeout=120s"); err != nil {
		t.Fatal(err)
	}
	for _, n := range nodes {
		out := onNodeOK(t, ctx, n, "nft", "list", "set", "inet", "switchboard", "nodes4")
		for _, ip := range nodeIPs {
			if !strings.Contains(out, ip) {
				t.Errorf("after the agent restart, %s's node set lacks %s:\n%s", n.Name, ip, out)
			}
		}
	}
}

// onNodeOK runs argv on the node and returns its output, or fails the test.
func onNodeOK(t *testing.T, ctx context.Context, n lab.Node, argv ...string) string {
	t.Helper()
	cmd, err := handle.ExecCmd(ctx, n.Name, argv...)
	if err != nil {
		t.Fatal(err)
	}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("on %s: %s: %v\n%s", n.Name, strings.Join(argv, " "), err, out)
	}
	return string(out)
}
