//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"switchboard/internal/lab/kube"
)

// waitEvent waits until an event about object in ns contains every substring.
func waitEvent(t *testing.T, ctx context.Context, k *kube.Cluster, ns, object string, subs ...string) string {
	t.Helper()
	var last string
	for deadline := time.Now().Add(90 * time.Second); time.Now().Before(deadline); time.Sleep(time.Second) {
		out, err := k.Kubectl(ctx, "", "get", "events", "-n", ns, "--field-selector", "involvedObject.name="+object,
			"-o", `jsonpath={range .items[*]}{.reason}: {.message}{"\n"}{end}`)
		if err != nil {
			t.Fatal(err)
		}
		last = out
		for _, line := range strings.Split(out, "\n") {
			ok := true
			for _, s := range subs {
				ok = ok && strings.Contains(line, s)
			}
			if ok && line != "" {
				return line
			}
		}
	}
	t.Fatalf("no event on %s/%s containing %q; events:\n%s", ns, object, subs, last)
	return ""
}

// waitCondition waits until a Network's condition has the reason and returns its message.
func waitCondition(t *testing.T, ctx context.Context, k *kube.Cluster, ns, name, cond, reason string) string {
	t.Helper()
	jp := fmt.Sprintf(`jsonpath={.status.conditions[?(@.type=="%s")].reason}`, cond)
	if _, err := k.Kubectl(ctx, "", "wait", "-n", ns, "network/"+name, "--for="+jp+"="+reason, "--timeout=60s"); err != nil {
		out, _ := k.Kubectl(ctx, "", "get", "network", "-n", ns, name, "-o", "yaml")
		t.Fatalf("network %s: condition %s never had reason %s: %v\n%s", name, cond, reason, err, out)
	}
	msg, err := k.Kubectl(ctx, "", "get", "network", "-n", ns, name, "-o",
		fmt.Sprintf(`jsonpath={.status.conditions[?(@.type=="%s")].message}`, cond))
	if err != nil {
		t.Fatal(err)
	}
	return msg
}

// TestDeleteNetworkInUse: deleting a network that a pod uses is deferred,
// with a condition naming the pod, and completes once the pod is gone.
func TestDeleteNetworkInUse(t *testing.T) {
	t.Parallel() // own namespace on cluster a; restarts nothing shared (see main_test.go)
	ctx := testContext(t, 3*time.Minute)
	k := cluster(t, "a")
	const ns = "inuse"
	setupNetworks(t, ctx, k, ns, network(ns, "busy", "{cidr: 10.82.0.0/24}", ""))
	if err := k.Apply(ctx, kube.TestboxPods(ns, twoNodes()[:1], `k8s.v1.cni.cncf.io/networks: busy`)); err != nil {
		t.Fatal(err)
	}
	if err := k.WaitPodsReady(ctx, ns, "app=testbox", 2*time.Minute); err != nil {
		t.Fatal(err)
	}
	if _, err := k.Kubectl(ctx, "", "delete", "network", "-n", ns, "busy", "--wait=false"); err != nil {
		t.Fatal(err)
	}
	msg := waitCondition(t, ctx, k, ns, "busy", "InUse", "DeleteDeferred")
	if !strings.Contains(msg, ns+"/pod1") {
		t.Fatalf("InUse condition does not name the pod: %q", msg)
	}
	if out, err := k.Exec(ctx, ns, "pod1", "ip", "link", "show", "net1"); err != nil {
		t.Fatalf("the pod lost its interface while deletion was deferred: %v %s", err, out)
	}
	if _, err := k.Kubectl(ctx, "", "delete", "pod", "-n", ns, "pod1", "--wait=true"); err != nil {
		t.Fatal(err)
	}
	if _, err := k.Kubectl(ctx, "", "wait", "-n", ns, "--for=delete", "network/busy", "--timeout=60s"); err != nil {
		t.Fatalf("network not deleted after its last pod left: %v", err)
	}
}

// TestBadInputIsReportedAndHarmless: every kind of bad input gets an error
// naming the field (at apply time, as a Network condition, or as an event
// on the pod), and the pods already running keep working throughout.
func TestBadInputIsReportedAndHarmless(t *testing.T) {
	t.Parallel() // own namespace on cluster a; restarts nothing shared (see main_test.go)
	ctx := testContext(t, 5*time.Minute)
	k := cluster(t, "a")
	const ns = "bad"
	setupNetworks(t, ctx, k, ns, network(ns, "good", "{cidr: 10.90.0.0/24}", ""))
	// The operator's webhook would refuse the bad pods below at apply
	// (TestAdmissionRefusesAtApply); here it is switched off for this
	// namespace, so that the agent's own checks at CNI ADD are tested
	// (defence in depth).
	if _, err := k.Kubectl(ctx, "", "label", "namespace", ns, "switchboard.dev/admission=disabled"); err != nil {
		t.Fatal(err)
	}
	if err := k.Apply(ctx, kube.TestboxPods(ns, twoNodes(), `k8s.v1.cni.cncf.io/networks: good`)); err != nil {
		t.Fatal(err)
	}
	if err := k.WaitPodsReady(ctx, ns, "app=testbox", 2*time.Minute); err != nil {
		t.Fatal(err)
	}
	ip1, ip2 := netIP(t, ctx, k, ns, "pod1", "net1"), netIP(t, ctx, k, ns, "pod2", "net1")

	t.Run("invalid cidr is refused at apply", func(t *testing.T) {
		_, err := k.Kubectl(ctx, network(ns, "badcidr", "{cidr: 10.0.0.0/33}", ""), "apply", "-f", "-")
		if err == nil || !strings.Contains(err.Error(), "spec.ipam.cidr") {
			t.Fatalf("want an error naming spec.ipam.cidr, got %v", err)
		}
	})
	t.Run("unsupported type", func(t *testing.T) {
		m := strings.Replace(network(ns, "later", "", ""), "type: vnet", "type: vlink", 1)
		if err := k.Apply(ctx, m); err != nil {
			t.Fatal(err)
		}
		if msg := waitCondition(t, ctx, k, ns, "later", "Ready", "UnsupportedType"); !strings.Contains(msg, "vnet") {
			t.Fatalf("condition does not say what to use instead: %q", msg)
		}
	})
	t.Run("cidr overlapping the cluster's pod CIDR", func(t *testing.T) {
		if err := k.Apply(ctx, network(ns, "overlap", "{cidr: 10.10.5.0/24}", "")); err != nil {
			t.Fatal(err)
		}
		if msg := waitCondition(t, ctx, k, ns, "overlap", "Ready", "InvalidSpec"); !strings.Contains(msg, "cidr") {
			t.Fatalf("condition does not name the field: %q", msg)
		}
	})
	badPod := func(name, annotation string) {
		m := strings.ReplaceAll(kube.TestboxPods(ns, twoNodes()[:1], annotation), "name: pod1", "name: "+name)
		m = strings.ReplaceAll(m, "app: testbox", "app: bad")
		if err := k.Apply(ctx, m); err != nil {
			t.Fatal(err)
		}
	}
	t.Run("static address outside the subnet", func(t *testing.T) {
		badPod("outside", `k8s.v1.cni.cncf.io/networks: '[{"name": "good", "ips": ["10.91.0.5/24"]}]'`)
		t.Log(waitEvent(t, ctx, k, ns, "outside", "10.91.0.5", "outside"))
	})
	t.Run("static address already taken", func(t *testing.T) {
		badPod("taken", fmt.Sprintf(`k8s.v1.cni.cncf.io/networks: '[{"name": "good", "ips": ["%s/24"]}]'`, ip1))
		t.Log(waitEvent(t, ctx, k, ns, "taken", ip1, "already used by pod", ns+"/pod"))
	})
	t.Run("unknown network", func(t *testing.T) {
		badPod("unknown", `k8s.v1.cni.cncf.io/networks: nosuch`)
		t.Log(waitEvent(t, ctx, k, ns, "unknown", "nosuch"))
	})
	t.Run("malformed annotation", func(t *testing.T) {
		badPod("malformed", `k8s.v1.cni.cncf.io/networks: '[{"name": '`)
		t.Log(waitEvent(t, ctx, k, ns, "malformed", "FailedCreatePodSandBox"))
	})
	// Nothing already attached was disturbed.
	if out, err := k.Exec(ctx, ns, "pod1", "ping", "-c", "2", "-W", "2", "-I", "net1", ip2); err != nil {
		t.Fatalf("running pods were disturbed by bad input: %v\n%s", err, out)
	}
	restarts, err := k.Kubectl(ctx, "", "get", "pods", "-n", ns, "-l", "app=testbox", "-o", "jsonpath={.items[*].status.containerStatuses[0].restartCount}")
	if err != nil || strings.TrimSpace(restarts) != "0 0" {
		t.Fatalf("running pods restarted: %q %v", restarts, err)
	}
}
