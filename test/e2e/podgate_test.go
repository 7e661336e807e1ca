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

// podEvents returns the reasons and messages of the events of pod ns/name.
func podEvents(t *testing.T, ctx context.Context, k *kube.Cluster, ns, name string) string {
	t.Helper()
	out, err := k.Kubectl(ctx, "", "get", "events", "-n", ns, "--field-selector", "involvedObject.name="+name,
		"-o", "jsonpath={range .items[*]}{.reason}: {.message}{\"\\n\"}{end}")
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestPodWaitsForItsNetwork: a pod naming a Network that has no
// NetworkAttachmentDefinition yet is held back from scheduling (the
// operator's mutating webhook gives it a scheduling gate) instead of
// failing its sandbox; once the Network is published the gate goes and
// the pod starts with its interface, without a NoNetworkFound on the way.
// The Network is held unpublished by an invalid range at first, so the
// race that the gate is for (Network and pod applied together) is made
// certain.
func TestPodWaitsForItsNetwork(t *testing.T) {
	t.Parallel() // own namespace on cluster a; restarts nothing shared (see main_test.go)
	ctx := testContext(t, 4*time.Minute)
	k := cluster(t, "a")
	const ns = "gate"
	// 10.10.5.0/24 overlaps cluster a's pod CIDR: InvalidSpec, no NAD.
	setupNetworks(t, ctx, k, ns)
	if err := k.Apply(ctx, network(ns, "later", "{cidr: 10.10.5.0/24}", "")); err != nil {
		t.Fatal(err)
	}
	waitCondition(t, ctx, k, ns, "later", "Ready", "InvalidSpec")
	if err := k.Apply(ctx, admissionPod(ns, "waiter", `k8s.v1.cni.cncf.io/networks: later`)); err != nil {
		t.Fatal(err)
	}
	gates, err := k.Kubectl(ctx, "", "get", "pod", "-n", ns, "waiter", "-o", "jsonpath={.spec.schedulingGates[*].name}")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(gates, "switchboard.dev/networks") {
		t.Fatalf("pod waiter has scheduling gates %q, want switchboard.dev/networks", gates)
	}
	deadline := time.Now().Add(time.Minute)
	for !strings.Contains(podEvents(t, ctx, k, ns, "waiter"), "WaitingForNetworks") {
		if time.Now().After(deadline) {
			t.Fatalf("no WaitingForNetworks event on the held pod:\n%s", podEvents(t, ctx, k, ns, "waiter"))
		}
		time.Sleep(500 * time.Millisecond)
	}

	if _, err := k.Kubectl(ctx, "", "patch", "network", "-n", ns, "later", "--type=merge", "-p", `{"spec":{"ipam":{"cidr":"10.98.77.0/24"}}}`); err != nil {
		t.Fatal(err)
	}
	if err := k.WaitPodsReady(ctx, ns, "app=waiter", 2*time.Minute); err != nil {
		t.Fatalf("the pod did not start once its network was published: %v\n%s", err, podEvents(t, ctx, k, ns, "waiter"))
	}
	if ip := netIP(t, ctx, k, ns, "waiter", "net1"); !strings.HasPrefix(ip, "10.98.77.") {
		t.Errorf("net1 has %q, want an address of 10.98.77.0/24", ip)
	}
	ev := podEvents(t, ctx, k, ns, "waiter")
	for _, bad := range []string{"NoNetworkFound", "FailedCreatePodSandBox"} {
		if strings.Contains(ev, bad) {
			t.Errorf("the held pod still got %s:\n%s", bad, ev)
		}
	}
	if !strings.Contains(ev, "NetworksPublished") {
		t.Errorf("no NetworksPublished event:\n%s", ev)
	}
	fmt.Println(ev)
}
