//go:build e2e

package e2e

import (
	"context"
	"strings"
	"testing"
	"time"

	"switchboard/internal/lab/kube"
)

// admissionPod is a testbox pod named name in ns, on the first node, with
// the given annotations.
func admissionPod(ns, name, annotations string) string {
	m := strings.ReplaceAll(kube.TestboxPods(ns, twoNodes()[:1], annotations), "name: pod1", "name: "+name)
	return strings.ReplaceAll(m, "app: testbox", "app: "+name)
}

// wantRefused applies manifest and wants kubectl to fail with the
// operator's webhook's denial, containing every one of want.
func wantRefused(t *testing.T, ctx context.Context, k *kube.Cluster, manifest string, want ...string) {
	t.Helper()
	err := k.Apply(ctx, manifest)
	if err == nil {
		t.Fatalf("kubectl apply succeeded; want a refusal containing %q", want)
	}
	msg := err.Error()
	for _, w := range append([]string{"denied the request"}, want...) {
		if !strings.Contains(msg, w) {
			t.Fatalf("refusal lacks %q:\n%s", w, msg)
		}
	}
	t.Log(msg)
}

// TestAdmissionRefusesAtApply: the operator's webhook refuses at `kubectl
// apply`, with the field and the fix, a pod naming another tenant's
// Network, a malformed annotation, a static address outside the range and
// an interface clash; a good pod using its own and a shared network is
// admitted and attached (the positive control).
func TestAdmissionRefusesAtApply(t *testing.T) {
	t.Parallel() // own namespace on cluster a; restarts nothing shared (see main_test.go)
	ctx := testContext(t, 4*time.Minute)
	k := cluster(t, "a")
	const a, b = "adm-a", "adm-b"
	setupNetworks(t, ctx, k, b, network(b, "private", "{cidr: 10.94.0.0/24}", ""),
		network(b, "lent", "{cidr: 10.95.0.0/24}", "  sharedWith: ["+a+"]\n"))
	setupNetworks(t, ctx, k, a, network(a, "mine", "{cidr: 10.93.0.0/24}", ""))

	t.Run("another tenant's network", func(t *testing.T) {
		wantRefused(t, ctx, k, admissionPod(a, "thief", `k8s.v1.cni.cncf.io/networks: adm-b/private`),
			"k8s.v1.cni.cncf.io/networks element 0", "pods of namespace adm-a may not join network adm-b/private", `add "adm-a" to the network's spec.sharedWith`)
	})
	t.Run("malformed annotation", func(t *testing.T) {
		wantRefused(t, ctx, k, admissionPod(a, "malformed", `k8s.v1.cni.cncf.io/networks: '[{"name": '`),
			"k8s.v1.cni.cncf.io/networks is not valid JSON")
	})
	t.Run("static address outside the range", func(t *testing.T) {
		wantRefused(t, ctx, k, admissionPod(a, "outside", `k8s.v1.cni.cncf.io/networks: '[{"name": "mine", "ips": ["10.91.0.5/24"]}]'`),
			"static address 10.91.0.5", "pick an address in 10.93.0.0/24")
	})
	t.Run("interface clash", func(t *testing.T) {
		wantRefused(t, ctx, k, admissionPod(a, "clash", `k8s.v1.cni.cncf.io/networks: 'mine@x1,adm-b/lent@x1'`),
			`interface "x1" is also element 0's`)
	})
	t.Run("good pod is admitted and attached", func(t *testing.T) {
		if err := k.Apply(ctx, admissionPod(a, "good", `k8s.v1.cni.cncf.io/networks: '[{"name": "mine", "ips": ["10.93.0.9/24"]}, {"name": "lent", "namespace": "adm-b"}]'`)); err != nil {
			t.Fatal(err)
		}
		if err := k.WaitPodsReady(ctx, a, "app=good", 2*time.Minute); err != nil {
			t.Fatal(err)
		}
		if ip := netIP(t, ctx, k, a, "good", "net1"); ip != "10.93.0.9" {
			t.Fatalf("net1 has %s, want the static 10.93.0.9", ip)
		}
		// The address is now held: a second pod asking for it is refused.
		wantRefused(t, ctx, k, admissionPod(a, "taken", `k8s.v1.cni.cncf.io/networks: '[{"name": "mine", "ips": ["10.93.0.9/24"]}]'`),
			"static address 10.93.0.9", "already used by pod adm-a/good")
	})
}

// TestNetworkQuota: a NetworkQuota refuses the Network and the pod beyond
// its limits at apply, and its status shows the namespace's usage.
func TestNetworkQuota(t *testing.T) {
	t.Parallel() // own namespace on cluster a; restarts nothing shared (see main_test.go)
	ctx := testContext(t, 4*time.Minute)
	k := cluster(t, "a")
	const ns = "adm-quota"
	setupNetworks(t, ctx, k, ns)
	quota := "apiVersion: switchboard.dev/v1alpha1\nkind: NetworkQuota\nmetadata: {name: limits, namespace: " + ns + "}\nspec: {maxNetworks: 1, maxAttachments: 1}\n"
	if err := k.Apply(ctx, quota); err != nil {
		t.Fatal(err)
	}
	waitUsed := func(field, want string) {
		t.Helper()
		if _, err := k.Kubectl(ctx, "", "wait", "-n", ns, "networkquota/limits", "--for=jsonpath={.status.used."+field+"}="+want, "--timeout=60s"); err != nil {
			out, _ := k.Kubectl(ctx, "", "get", "networkquota", "-n", ns, "limits", "-o", "yaml")
			t.Fatalf("quota usage %s never %s: %v\n%s", field, want, err, out)
		}
	}
	waitUsed("networks", "0")
	if err := k.Apply(ctx, network(ns, "only", "{cidr: 10.92.0.0/24}", "")); err != nil {
		t.Fatal(err)
	}
	waitUsed("networks", "1")
	wantRefused(t, ctx, k, network(ns, "second", "", ""), "NetworkQuota adm-quota/limits spec.maxNetworks is 1", "network second would make it 2")

	if err := k.Apply(ctx, admissionPod(ns, "first", `k8s.v1.cni.cncf.io/networks: only`)); err != nil {
		t.Fatal(err)
	}
	waitUsed("attachments", "1")
	wantRefused(t, ctx, k, admissionPod(ns, "second", `k8s.v1.cni.cncf.io/networks: only`), "spec.maxAttachments is 1", "pod second would make it 2")
	if err := k.WaitPodsReady(ctx, ns, "app=first", 2*time.Minute); err != nil {
		t.Fatalf("the pod within the quota was not attached: %v", err)
	}
}
