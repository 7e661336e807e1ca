//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"net"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"switchboard/internal/lab/kube"
	"switchboard/internal/netnstest"
)

// sendRate sends bytes from pod to dst's discard port and returns the
// rate of the Ethernet frames that carried them on the pod's interface
// (netcheck's goodput, from connecting to the receiver's count, at MTU
// 1450, the network's), in Mbit/s.
func sendRate(t *testing.T, ctx context.Context, k *kube.Cluster, ns, pod, dst string, bytes int) float64 {
	t.Helper()
	out, err := k.Exec(ctx, ns, pod, "netcheck", "send", "--discard", "--bytes", strconv.Itoa(bytes), "--timeout", "120s", net.JoinHostPort(dst, "5002"))
	m := sentIn.FindStringSubmatch(out)
	if err != nil || m == nil {
		t.Fatalf("%s -> %s: netcheck send: %v\n%s", pod, dst, err, out)
	}
	n, _ := strconv.ParseFloat(m[1], 64)
	secs, _ := strconv.ParseFloat(m[2], 64)
	return netnstest.WireRate(n*8/secs, 1450) / 1e6
}

// sentIn reads bytes and seconds from netcheck send's line: its Mbit/s
// figure is rounded to a whole number, too coarse at 10 Mbit/s.
var sentIn = regexp.MustCompile(`sent (\d+) bytes in ([0-9.]+)s`)

// expectRate measures pod -> dst until the frame rate is at most 5% above
// limit (Mbit/s: the shaping holds) and at least 75% of it (a loaded
// machine may starve the sender; 75% still tells each limit of the test
// from the one before it, and how close the rate comes is the benchmark's
// figure), for a limit that a change of the Network may still be on its
// way to: up to 6 tries, 5 s apart. It fails with every figure.
func expectRate(t *testing.T, ctx context.Context, k *kube.Cluster, ns, pod, dst string, limit float64) {
	t.Helper()
	var got []string
	for try := range 6 {
		if try > 0 {
			time.Sleep(5 * time.Second)
		}
		r := sendRate(t, ctx, k, ns, pod, dst, int(limit*1e6/8*6)) // about 6 s at the limit
		got = append(got, fmt.Sprintf("%.2f", r))
		if r >= 0.75*limit && r <= 1.05*limit {
			t.Logf("%s -> %s: %.2f Mbit/s of frames, %.3f of the %.0f Mbit/s limit", pod, dst, r, r/limit, limit)
			return
		}
	}
	t.Fatalf("%s -> %s: %s Mbit/s of frames, want 75-105%% of %.0f", pod, dst, strings.Join(got, ", "), limit)
}

// TestBandwidthLimits: pods on a Network with limits on two nodes send at
// the network's egress rate and receive at its ingress rate; a pod that
// asks for its own egress rate in its annotation gets it; a change of the
// Network reaches the running pods; without limits the same pods are
// many times faster.
func TestBandwidthLimits(t *testing.T) {
	ctx := testContext(t, 8*time.Minute)
	k := cluster(t, "a")
	const ns = "bw"
	setupNetworks(t, ctx, k, ns, network(ns, "slow", "{cidr: 10.63.0.0/24}", "  bandwidth: {ingressRate: 200M, egressRate: 20M}\n"))
	pods := kube.TestboxPods(ns, twoNodes(), `k8s.v1.cni.cncf.io/networks: slow`)
	own := `k8s.v1.cni.cncf.io/networks: '[{"name": "slow", "bandwidth": {"egressRate": 10000000}}]'`
	pod3 := strings.ReplaceAll(kube.TestboxPods(ns, twoNodes()[:1], own), "name: pod1", "name: pod3")
	if err := k.Apply(ctx, pods+"---\n"+pod3); err != nil {
		t.Fatal(err)
	}
	if err := k.WaitPodsReady(ctx, ns, "app=testbox", 2*time.Minute); err != nil {
		t.Fatal(err)
	}
	ip1, ip2 := netIP(t, ctx, k, ns, "pod1", "net1"), netIP(t, ctx, k, ns, "pod2", "net1")

	expectRate(t, ctx, k, ns, "pod1", ip2, 20) // the network's egress rate
	expectRate(t, ctx, k, ns, "pod3", ip2, 10) // the pod's own

	// Now the receiver's limit binds: pod2 may send 200M, pod1 receive 30M.
	if _, err := k.Kubectl(ctx, "", "patch", "network", "-n", ns, "slow", "--type=merge",
		"-p", `{"spec":{"bandwidth":{"ingressRate":"30M","egressRate":"200M"}}}`); err != nil {
		t.Fatal(err)
	}
	expectRate(t, ctx, k, ns, "pod2", ip1, 30)
	expectRate(t, ctx, k, ns, "pod3", ip2, 10) // still the pod's own

	if _, err := k.Kubectl(ctx, "", "patch", "network", "-n", ns, "slow", "--type=json",
		"-p", `[{"op":"remove","path":"/spec/bandwidth"}]`); err != nil {
		t.Fatal(err)
	}
	var fast float64
	for try := range 6 {
		if try > 0 {
			time.Sleep(5 * time.Second)
		}
		if fast = sendRate(t, ctx, k, ns, "pod2", ip1, 100<<20); fast > 10*30 {
			break
		}
	}
	if fast <= 10*30 {
		t.Fatalf("without limits pod2 -> pod1 carries %.0f Mbit/s, want more than 10 times the old 30M ingress limit", fast)
	}
	t.Logf("without limits: pod2 -> pod1 %.0f Mbit/s of frames", fast)
}
