package admission_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	sbv1 "switchboard/api/v1alpha1"
)

// TestWebhookAgainstAPIServer: through a real API server, the webhook
// refuses at create what the agent would refuse at ADD, admits good pods,
// enforces a NetworkQuota and reports its usage, and, once the operator
// is gone, fails closed for pods that ask for networks and only for them.
func TestWebhookAgainstAPIServer(t *testing.T) {
	e := startEnv(t)
	ctx := context.Background()
	e.create(t,
		namespace("a", nil), namespace("b", nil), namespace("q", nil),
		namespace("off", map[string]string{"switchboard.dev/admission": "disabled"}),
		network("a", "red", "10.20.0.0/24"),
		network("b", "secret", "10.21.0.0/24"),
		network("b", "open", "10.22.0.0/24", "a"),
	)

	t.Run("another tenant's network", func(t *testing.T) {
		msg := e.refused(t, pod("a", "thief", "b/secret"),
			"k8s.v1.cni.cncf.io/networks element 0", "pods of namespace a may not join network b/secret", `add "a" to the network's spec.sharedWith`)
		t.Log(msg)
	})
	t.Run("good pod is admitted", func(t *testing.T) {
		e.create(t, pod("a", "good", `[{"name":"red","ips":["10.20.0.5/24"]},{"name":"open","namespace":"b","interface":"eth1"}]`))
	})
	t.Run("pod without networks is not judged", func(t *testing.T) {
		e.create(t, pod("a", "plain", ""))
	})
	t.Run("malformed annotation", func(t *testing.T) {
		e.refused(t, pod("a", "bad-json", `[{"name": `), "k8s.v1.cni.cncf.io/networks is not valid JSON")
	})
	t.Run("static address outside the range", func(t *testing.T) {
		e.refused(t, pod("a", "outside", `[{"name":"red","ips":["10.91.0.5/24"]}]`), "static address 10.91.0.5", "pick an address in 10.20.0.0/24")
	})
	t.Run("interface clash", func(t *testing.T) {
		e.refused(t, pod("a", "clash", "red@x1,b/open@x1"), `interface "x1" is also element 0's`)
	})
	t.Run("annotation changed to a forbidden network", func(t *testing.T) {
		var p corev1.Pod
		if err := e.k8s.Get(ctx, client.ObjectKey{Namespace: "a", Name: "plain"}, &p); err != nil {
			t.Fatal(err)
		}
		p.Annotations = map[string]string{"k8s.v1.cni.cncf.io/networks": "b/secret"}
		err := e.k8s.Update(ctx, &p)
		if err == nil || !strings.Contains(err.Error(), "may not join network b/secret") {
			t.Fatalf("update to another tenant's network: want a refusal, got %v", err)
		}
	})
	t.Run("opted-out namespace is left to the agent", func(t *testing.T) {
		e.create(t, pod("off", "unchecked", "b/secret"))
	})

	t.Run("quota", func(t *testing.T) {
		e.create(t, &sbv1.NetworkQuota{ObjectMeta: metav1.ObjectMeta{Namespace: "q", Name: "limits"},
			Spec: sbv1.NetworkQuotaSpec{MaxNetworks: ptr.To[int32](1), MaxAttachments: ptr.To[int32](2), MaxAddresses: ptr.To[int32](1)}})
		waitUsage(t, e, sbv1.NetworkQuotaUsage{})
		e.create(t, network("q", "n1", "10.30.0.0/24"))
		waitUsage(t, e, sbv1.NetworkQuotaUsage{Networks: 1})
		e.refused(t, network("q", "n2", ""), "NetworkQuota q/limits spec.maxNetworks is 1", "ask for a higher spec.maxNetworks")

		e.create(t, pod("q", "p1", "n1"))
		waitUsage(t, e, sbv1.NetworkQuotaUsage{Networks: 1, Attachments: 1, Addresses: 1})
		e.refused(t, pod("q", "p2", "n1"), "spec.maxAddresses is 1", "pod p2 would make it 2")
		e.refused(t, pod("q", "p3", "later1,later2,later3"), "spec.maxAttachments is 2")
	})

	t.Run("operator down: fail closed, but only for what it judges", func(t *testing.T) {
		e.stop()
		err := e.k8s.Create(ctx, pod("a", "while-down", "red"))
		if err == nil || !strings.Contains(err.Error(), "failed calling webhook") {
			t.Fatalf("a pod asking for a network while the webhook is down: want a failure, got %v", err)
		}
		e.create(t, pod("a", "plain-while-down", ""))
		e.create(t, pod("kube-system", "system-while-down", "red"))
	})
}

// waitUsage waits until NetworkQuota q/limits reports want.
func waitUsage(t *testing.T, e *env, want sbv1.NetworkQuotaUsage) {
	t.Helper()
	eventually(t, fmt.Sprintf("quota usage %+v", want), func() error {
		var q sbv1.NetworkQuota
		if err := e.k8s.Get(context.Background(), client.ObjectKey{Namespace: "q", Name: "limits"}, &q); err != nil {
			return err
		}
		if q.Status.Used != want || len(q.Status.Conditions) == 0 {
			return fmt.Errorf("status %+v", q.Status)
		}
		return nil
	})
}
