//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"switchboard/internal/lab/kube"
)

// cniCall runs a CNI plugin on a lab node the way a runtime does (env and
// config on stdin), through nsenter into the node's namespaces, and returns
// how long the plugin took. Both plugins of a comparison go through exactly
// the same path, so the nsenter overhead cancels out of the ratio.
func cniCall(ctx context.Context, node, plugin, command, containerID, netns, args, conf string) (time.Duration, string, error) {
	cmd, err := handle.ExecCmd(ctx, node, "/opt/cni/bin/"+plugin)
	if err != nil {
		return 0, "", err
	}
	cmd.Env = append(cmd.Env, "CNI_COMMAND="+command, "CNI_CONTAINERID="+containerID, "CNI_NETNS="+netns,
		"CNI_IFNAME=net1", "CNI_PATH=/opt/cni/bin", "CNI_ARGS="+args)
	cmd.Stdin = strings.NewReader(conf)
	start := time.Now()
	out, err := cmd.CombinedOutput()
	return time.Since(start), string(out), err
}

func onNode(ctx context.Context, node string, argv ...string) error {
	cmd, err := handle.ExecCmd(ctx, node, argv...)
	if err != nil {
		return err
	}
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("%s: %v: %s", strings.Join(argv, " "), err, out)
	}
	return nil
}

// cniLatency runs n sequential ADD+DEL pairs and returns the sorted latencies.
func cniLatency(b *testing.B, ctx context.Context, node, plugin, conf, args string, n int) (add, del []time.Duration) {
	for i := range n {
		ns := fmt.Sprintf("bench-%s-%d", plugin, i)
		if err := onNode(ctx, node, "ip", "netns", "add", ns); err != nil {
			b.Fatal(err)
		}
		id := fmt.Sprintf("bench%s%06d", plugin, i)
		d, out, err := cniCall(ctx, node, plugin, "ADD", id, "/var/run/netns/"+ns, args, conf)
		if err != nil {
			b.Fatalf("%s ADD %d: %v\n%s", plugin, i, err, out)
		}
		add = append(add, d)
		d, out, err = cniCall(ctx, node, plugin, "DEL", id, "/var/run/netns/"+ns, args, conf)
		if err != nil {
			b.Fatalf("%s DEL %d: %v\n%s", plugin, i, err, out)
		}
		del = append(del, d)
		if err := onNode(ctx, node, "ip", "netns", "delete", ns); err != nil {
			b.Fatal(err)
		}
	}
	slices.Sort(add)
	slices.Sort(del)
	return add, del
}

func pct(s []time.Duration, p float64) time.Duration { return s[int(float64(len(s)-1)*p)] }

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// BenchmarkCNILatency: 200 sequential ADD and DEL calls of switchboard-cni
// (through the agent, allocating by creating an Attachment) against the
// reference bridge + host-local plugins, driven the same way in the same run.
func BenchmarkCNILatency(b *testing.B) {
	const n = 200
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancel()
	k, err := kube.New(handle, "a")
	if err != nil {
		b.Fatal(err)
	}
	const ns = "bench-cni"
	if err := k.Apply(ctx, benchNamespace(ns)+"---\n"+network(ns, "benchnet", "{cidr: 10.87.0.0/24}", "")); err != nil {
		b.Fatal(err)
	}
	defer k.Kubectl(context.Background(), "", "delete", "namespace", ns, "--wait=false")
	if _, err := k.Kubectl(ctx, "", "wait", "-n", ns, "--for=condition=Ready", "network/benchnet", "--timeout=60s"); err != nil {
		b.Fatal(err)
	}
	// A real pod for the attachments to belong to, so that the operator's
	// garbage collector leaves them alone during the run. It is itself on the
	// network, on the measured node, as a real node's pods would be: the
	// network's bridge and VXLAN device stay, as the reference's bridge does.
	uid, err := benchPod(ctx, k, ns, handle.Clusters[0].Nodes[0].Name)
	if err != nil {
		b.Fatal(err)
	}
	node := handle.Clusters[0].Nodes[0].Name
	args := fmt.Sprintf("IgnoreUnknown=1;K8S_POD_NAMESPACE=%s;K8S_POD_NAME=holder;K8S_POD_UID=%s", ns, uid) // as runtimes pass them
	ours := fmt.Sprintf(`{"cniVersion":"1.0.0","name":"benchnet","type":"switchboard","network":"%s/benchnet","capabilities":{"ips":true,"mac":true}}`, ns)
	ref := `{"cniVersion":"1.0.0","name":"benchref","type":"bridge","bridge":"benchbr0",
	  "ipam":{"type":"host-local","ranges":[[{"subnet":"10.86.0.0/24"}]],"dataDir":"/var/lib/cni/bench-host-local"}}`
	b.ResetTimer()
	for range b.N {
		refAdd, refDel := cniLatency(b, ctx, node, "bridge", ref, args, n)
		sbAdd, sbDel := cniLatency(b, ctx, node, "switchboard", ours, args, n)
		b.StopTimer()
		fmt.Printf("CNI latency, %d sequential calls each, node %s (ms):\n", n, node)
		fmt.Printf("  %-28s ADD p50 %7.2f p99 %7.2f   DEL p50 %7.2f p99 %7.2f\n", "bridge + host-local", ms(pct(refAdd, .5)), ms(pct(refAdd, .99)), ms(pct(refDel, .5)), ms(pct(refDel, .99)))
		fmt.Printf("  %-28s ADD p50 %7.2f p99 %7.2f   DEL p50 %7.2f p99 %7.2f\n", "switchboard", ms(pct(sbAdd, .5)), ms(pct(sbAdd, .99)), ms(pct(sbDel, .5)), ms(pct(sbDel, .99)))
		fmt.Printf("  ratio switchboard/reference: ADD p50 %.2f, DEL p50 %.2f\n", ms(pct(sbAdd, .5))/ms(pct(refAdd, .5)), ms(pct(sbDel, .5))/ms(pct(refDel, .5)))
		b.ReportMetric(ms(pct(sbAdd, .5)), "sb-add-p50-ms")
		b.ReportMetric(ms(pct(refAdd, .5)), "ref-add-p50-ms")
		b.StartTimer()
	}
}

func benchNamespace(ns string) string {
	return fmt.Sprintf("apiVersion: v1\nkind: Namespace\nmetadata: {name: %s}\n", ns)
}

// benchPod starts a pod named holder on node, on network benchnet, and
// returns its UID once it is Ready.
func benchPod(ctx context.Context, k *kube.Cluster, ns, node string) (string, error) {
	pod := fmt.Sprintf(`apiVersion: v1
kind: Pod
metadata: {name: holder, namespace: %s, labels: {app: holder}, annotations: {k8s.v1.cni.cncf.io/networks: benchnet}}
spec:
  nodeName: %s
  terminationGracePeriodSeconds: 0
  containers: [{name: box, image: switchboard.local/lab/testbox:v1, imagePullPolicy: Never, args: [sleep, "3600"]}]
`, ns, node)
	if err := k.Apply(ctx, pod); err != nil {
		return "", err
	}
	if err := k.WaitPodsReady(ctx, ns, "app=holder", 2*time.Minute); err != nil {
		return "", err
	}
	out, err := k.Kubectl(ctx, "", "get", "pod", "-n", ns, "holder", "-o", "jsonpath={.metadata.uid}")
	return strings.TrimSpace(out), err
}
