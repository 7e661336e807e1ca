//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"switchboard/internal/lab"
	"switchboard/internal/lab/kube"
)

// agentPod returns the name of the switchboard-agent pod on a node.
func agentPod(t *testing.T, ctx context.Context, k *kube.Cluster, node string) string {
	t.Helper()
	out, err := k.Kubectl(ctx, "", "get", "pods", "-n", "switchboard-system", "-l", "app=switchboard-agent",
		"--field-selector", "spec.nodeName="+node, "-o", "jsonpath={.items[0].metadata.name}")
	if err != nil || strings.TrimSpace(out) == "" {
		t.Fatalf("no agent pod on %s: %v", node, err)
	}
	return strings.TrimSpace(out)
}

// restartAgent deletes the agent pod on node and waits for its replacement to be Ready.
func restartAgent(t *testing.T, ctx context.Context, k *kube.Cluster, node string) {
	t.Helper()
	old := agentPod(t, ctx, k, node)
	if _, err := k.Kubectl(ctx, "", "delete", "pod", "-n", "switchboard-system", old, "--wait=true"); err != nil {
		t.Fatal(err)
	}
	if _, err := k.Kubectl(ctx, "", "rollout", "status", "-n", "switchboard-system", "daemonset/switchboard-agent", "--timeout=90s"); err != nil {
		t.Fatal(err)
	}
}

// killAgent SIGKILLs the agent process on a node (the container's task, found
// through containerd) and waits for the kubelet to restart it.
func killAgent(t *testing.T, ctx context.Context, k *kube.Cluster, node string) {
	t.Helper()
	killContainer(t, ctx, k, agentPod(t, ctx, k, node), node)
}

// killContainer SIGKILLs the process of the first container of pod (in
// switchboard-system, on node) and waits for the kubelet to restart it and
// the pod to be Ready again.
func killContainer(t *testing.T, ctx context.Context, k *kube.Cluster, pod, node string) {
	t.Helper()
	st, err := k.Kubectl(ctx, "", "get", "pod", "-n", "switchboard-system", pod, "-o",
		"jsonpath={.status.containerStatuses[0].containerID} {.status.containerStatuses[0].restartCount}")
	if err != nil {
		t.Fatal(err)
	}
	idField, countField, _ := strings.Cut(strings.TrimSpace(st), " ")
	id := strings.TrimPrefix(idField, "containerd://")
	restarts, err := strconv.Atoi(countField)
	if err != nil {
		t.Fatalf("restart count of %s: %q", pod, countField)
	}
	cmd, err := handle.ExecCmd(ctx, node, "ctr", "--address", "/run/containerd/containerd.sock", "-n", "k8s.io", "tasks", "ls")
	if err != nil {
		t.Fatal(err)
	}
	out, err := cmd.Output()
	if err != nil {
		t.Fatal(err)
	}
	pid := 0
	for _, line := range strings.Split(string(out), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == id {
			pid, _ = strconv.Atoi(f[1])
		}
	}
	if pid <= 0 {
		t.Fatalf("no task for container %s of %s on %s:\n%s", id, pod, node, out)
	}
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatalf("kill %s pid %d: %v", pod, pid, err)
	}
	t.Logf("killed %s (pid %d) on %s", pod, pid, node)
	jp := `jsonpath={.status.containerStatuses[0].restartCount}`
	if _, err := k.Kubectl(ctx, "", "wait", "-n", "switchboard-system", "pod/"+pod, "--for="+jp+"="+strconv.Itoa(restarts+1), "--timeout=90s"); err != nil {
		t.Fatal(err)
	}
	if _, err := k.Kubectl(ctx, "", "wait", "-n", "switchboard-system", "pod/"+pod, "--for=condition=Ready", "--timeout=90s"); err != nil {
		t.Fatal(err)
	}
}

// attachments counts the Attachments of a network.
func attachments(t *testing.T, ctx context.Context, k *kube.Cluster, ns, network string) []string {
	t.Helper()
	out, err := k.Kubectl(ctx, "", "get", "attachments", "-n", ns, "-l", "switchboard.dev/network="+network,
		"-o", `jsonpath={range .items[*]}{.spec.ips[0]}{"\n"}{end}`)
	if err != nil {
		t.Fatal(err)
	}
	return strings.Fields(out)
}

// hostPorts lists the host ends of pod interfaces (sbv..., not the VXLAN
// devices sbvx...) left on a node.
func hostPorts(t *testing.T, ctx context.Context, node lab.Node) []string {
	t.Helper()
	cmd, err := handle.ExecCmd(ctx, node.Name, "ip", "-o", "link", "show")
	if err != nil {
		t.Fatal(err)
	}
	out, err := cmd.Output()
	if err != nil {
		t.Fatal(err)
	}
	var ports []string
	for _, line := range strings.Split(string(out), "\n") {
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		name, _, _ := strings.Cut(strings.TrimSuffix(f[1], ":"), "@")
		if strings.HasPrefix(name, "sbv") && !strings.HasPrefix(name, "sbvx") {
			ports = append(ports, node.Name+"/"+name)
		}
	}
	return ports
}

// TestHundredPodsNoDuplicatesNoLeaks: 100 pods created at once on a pool
// network get 100 distinct addresses even though an agent is killed while
// they are being created; after the pods are deleted the pool is whole
// again and no veth is left on any node.
func TestHundredPodsNoDuplicatesNoLeaks(t *testing.T) {
	ctx := testContext(t, 12*time.Minute)
	k := cluster(t, "a")
	const ns = "scale"
	setupNetworks(t, ctx, k, ns, network(ns, "pool", "{cidr: 10.80.0.0/24}", ""))
	deploy := `apiVersion: apps/v1
kind: Deployment
metadata: {name: many, namespace: scale}
spec:
  replicas: 100
  selector: {matchLabels: {app: many}}
  template:
    metadata:
      labels: {app: many}
      annotations: {k8s.v1.cni.cncf.io/networks: pool}
    spec:
      terminationGracePeriodSeconds: 0
      containers:
      - name: box
        image: ` + lab.TestboxImage + `
        imagePullPolicy: Never
        args: [sleep, "3600"]
`
	if err := k.Apply(ctx, deploy); err != nil {
		t.Fatal(err)
	}
	// Kill one node's agent (SIGKILL) while the pods are being attached:
	// once its first attachments exist, and before all 100 do.
	for deadline := time.Now().Add(2 * time.Minute); ; time.Sleep(200 * time.Millisecond) {
		out, err := k.Kubectl(ctx, "", "get", "attachments", "-n", ns, "-l", "switchboard.dev/node=a-node2", "-o", "name")
		if err != nil {
			t.Fatal(err)
		}
		if strings.TrimSpace(out) != "" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no pod was attached on a-node2 within 2 minutes")
		}
	}
	if n := len(attachments(t, ctx, k, ns, "pool")); n >= 100 {
		t.Fatalf("all %d attachments exist already: a kill now would not be mid-way", n)
	}
	killAgent(t, ctx, k, "a-node2")
	if _, err := k.Kubectl(ctx, "", "rollout", "status", "-n", ns, "deployment/many", "--timeout=5m"); err != nil {
		t.Fatal(err)
	}
	// ADDs cut short by the kill may have left attachments whose sandbox the
	// runtime then gave up on; the agent collects them once it is back.
	var ips []string
	for deadline := time.Now().Add(90 * time.Second); ; time.Sleep(time.Second) {
		ips = attachments(t, ctx, k, ns, "pool")
		if len(ips) == 100 || time.Now().After(deadline) {
			break
		}
	}
	seen := map[string]bool{}
	for _, ip := range ips {
		if seen[ip] {
			t.Fatalf("address %s allocated twice", ip)
		}
		seen[ip] = true
	}
	if len(ips) != 100 {
		t.Fatalf("%d attachments for 100 pods", len(ips))
	}
	// Every pod has its own address (from Multus's network-status).
	podIPs, err := k.Kubectl(ctx, "", "get", "pods", "-n", ns, "-l", "app=many", "-o",
		`jsonpath={range .items[*]}{.metadata.annotations.k8s\.v1\.cni\.cncf\.io/network-status}{"\n"}{end}`)
	if err != nil {
		t.Fatal(err)
	}
	inPods := map[string]bool{}
	for _, ip := range ips {
		if strings.Contains(podIPs, `"`+strings.Split(ip, "/")[0]+`"`) {
			inPods[ip] = true
		}
	}
	if len(inPods) != 100 {
		t.Fatalf("%d of the 100 attachments' addresses are on a pod", len(inPods))
	}
	if _, err := k.Kubectl(ctx, "", "delete", "deployment", "-n", ns, "many", "--wait=true"); err != nil {
		t.Fatal(err)
	}
	if _, err := k.Kubectl(ctx, "", "wait", "-n", ns, "--for=delete", "pods", "-l", "app=many", "--timeout=3m"); err != nil {
		t.Fatal(err)
	}
	// A leak stays forever; the runtime's sandbox teardown (CNI DEL) and
	// the agent's orphan collector (every 30 s) take their time on a
	// starved node, so the check waits up to 3 minutes.
	deleted := time.Now()
	for deadline := deleted.Add(3 * time.Minute); ; {
		left := attachments(t, ctx, k, ns, "pool")
		ports := append(hostPorts(t, ctx, handle.Clusters[0].Nodes[0]), hostPorts(t, ctx, handle.Clusters[0].Nodes[1])...)
		if len(left) == 0 && len(ports) == 0 {
			t.Logf("0 attachments and 0 pod interfaces left %s after the pods were gone", time.Since(deleted).Round(time.Second))
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after deleting every pod: %d attachments (%v) and %d pod interfaces (%v) left", len(left), left, len(ports), ports)
		}
		time.Sleep(time.Second)
	}
}

// TestAgentRestartLosesNoPacket: a 100/s ping between two pods on
// different nodes loses nothing while the agents of both nodes restart.
func TestAgentRestartLosesNoPacket(t *testing.T) {
	ctx := testContext(t, 4*time.Minute)
	k := cluster(t, "a")
	const ns = "restart"
	setupNetworks(t, ctx, k, ns, network(ns, "steady", "{cidr: 10.81.0.0/24}", ""))
	if err := k.Apply(ctx, kube.TestboxPods(ns, twoNodes(), `k8s.v1.cni.cncf.io/networks: steady`)); err != nil {
		t.Fatal(err)
	}
	if err := k.WaitPodsReady(ctx, ns, "app=testbox", 2*time.Minute); err != nil {
		t.Fatal(err)
	}
	dst := netIP(t, ctx, k, ns, "pod2", "net1")
	type result struct {
		out string
		err error
	}
	done := make(chan result, 1)
	const count = 3000 // 30 s at 100/s: longer than both restarts
	go func() {
		out, err := k.Exec(ctx, ns, "pod1", "ping", "-q", "-i", "0.01", "-c", strconv.Itoa(count), "-W", "5", dst)
		done <- result{out, err}
	}()
	for _, n := range twoNodes() {
		restartAgent(t, ctx, k, n.Name)
	}
	select {
	case r := <-done:
		t.Fatalf("the ping ended before the agents had restarted; raise count:\n%s %v", r.out, r.err)
	default:
	}
	r := <-done
	if r.err != nil {
		t.Fatalf("ping during agent restarts: %v\n%s", r.err, r.out)
	}
	want := fmt.Sprintf("%d packets transmitted, %d packets received, 0%% packet loss", count, count)
	if !strings.Contains(r.out, want) {
		t.Fatalf("packets lost during agent restarts:\n%s", r.out)
	}
	t.Log(strings.TrimSpace(r.out))
}
