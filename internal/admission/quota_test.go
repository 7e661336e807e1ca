package admission

import (
	"context"
	"errors"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	sbv1 "switchboard/api/v1alpha1"
)

func quota(ns string, nets, atts, addrs *int32) *sbv1.NetworkQuota {
	return &sbv1.NetworkQuota{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "q"},
		Spec: sbv1.NetworkQuotaSpec{MaxNetworks: nets, MaxAttachments: atts, MaxAddresses: addrs}}
}

func terminated(p *corev1.Pod) *corev1.Pod { p.Status.Phase = corev1.PodSucceeded; return p }

func TestNamespaceUsage(t *testing.T) {
	v := world(t,
		pod("a", "two", "u2", `red,l2@x`),                                       // 2 attachments; red has IPAM: 1 address
		pod("a", "static", "u3", `[{"name":"l2","ips":["1.2.3.4","1.2.3.5"]}]`), // 1 attachment, 2 addresses
		pod("a", "later", "u4", `nosuch`),                                       // 1 attachment, no known IPAM
		terminated(pod("a", "done", "u5", `red,red@y`)),                         // holds nothing
		pod("a", "junk", "u6", `[{`),                                            // unparsable: nothing
	)
	got, err := v.NamespaceUsage(context.Background(), "a", "")
	if err != nil {
		t.Fatal(err)
	}
	// world's pod a/holder asks for red too (1 + 1).
	want := Usage{Networks: 4, Attachments: 5, Addresses: 4}
	if got != want {
		t.Fatalf("usage %+v, want %+v", got, want)
	}
}

func TestCheckPodQuota(t *testing.T) {
	one, two := ptr.To[int32](1), ptr.To[int32](2)
	cases := []struct {
		name     string
		quota    *sbv1.NetworkQuota
		pod, old *corev1.Pod
		want     []string
	}{
		{"no quota", nil, pod("a", "p", "u", "red,red@x,red@y"), nil, nil},
		{"within", quota("a", nil, two, nil), pod("a", "p", "u", "red"), nil, nil}, // holder's 1 + 1
		{"attachments over", quota("a", nil, one, nil), pod("a", "p", "u", "red"), nil,
			[]string{"NetworkQuota a/q spec.maxAttachments is 1", "already uses 1 secondary interfaces", "pod p would make it 2"}},
		{"addresses over", quota("a", nil, nil, one), pod("a", "p", "u", "l2"), nil, nil}, // pure L2: no address
		{"static addresses count", quota("a", nil, nil, two), pod("a", "p", "u", `[{"name":"l2","ips":["1.1.1.1","1.1.1.2"]}]`), nil,
			[]string{"spec.maxAddresses is 2", "would make it 3"}},
		{"update that does not grow passes over a limit", quota("a", nil, ptr.To[int32](0), nil), pod("a", "holder", "uid-holder", "red@z"), pod("a", "holder", "uid-holder", "red"), nil},
		{"update that grows is refused", quota("a", nil, one, nil), pod("a", "holder", "uid-holder", "red,l2"), pod("a", "holder", "uid-holder", "red"),
			[]string{"spec.maxAttachments is 1"}},
		{"other namespace's quota does not apply", quota("b", nil, one, nil), pod("a", "p", "u", "red"), nil, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var extra []client.Object
			if tc.quota != nil {
				extra = append(extra, tc.quota)
			}
			err := world(t, extra...).CheckPodQuota(context.Background(), tc.pod, tc.old)
			checkRefusal(t, err, tc.want)
		})
	}
}

func TestCheckNetworkQuota(t *testing.T) {
	v := world(t, quota("a", ptr.To[int32](4), nil, nil))
	checkRefusal(t, v.CheckNetworkQuota(context.Background(), network("a", "fifth", "")),
		[]string{"spec.maxNetworks is 4", "network fifth would make it 5"})
	checkRefusal(t, v.CheckNetworkQuota(context.Background(), network("b", "third", "")), nil)
}

func checkRefusal(t *testing.T, err error, want []string) {
	t.Helper()
	if len(want) == 0 {
		if err != nil {
			t.Fatalf("refused: %v", err)
		}
		return
	}
	var r *Refusal
	if !errors.As(err, &r) {
		t.Fatalf("want a refusal containing %q, got %v", want, err)
	}
	for _, w := range want {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("refusal lacks %q: %s", w, err)
		}
	}
}

// podListCounter is a client.Reader that counts the pod lists it serves.
type podListCounter struct {
	client.Reader
	lists int
}

func (c *podListCounter) List(ctx context.Context, list client.ObjectList, opts ...client.ListOption) error {
	if _, ok := list.(*corev1.PodList); ok {
		c.lists++
	}
	return c.Reader.List(ctx, list, opts...)
}

// TestCheckPodQuotaWithoutQuota: in a namespace without a NetworkQuota the
// check reads no pods (it used to count the whole namespace's usage for
// every pod created, n² reads for n pods created at once); with one it
// does.
func TestCheckPodQuotaWithoutQuota(t *testing.T) {
	for _, tc := range []struct {
		name  string
		quota *sbv1.NetworkQuota
		lists int
	}{
		{"no quota", nil, 0},
		{"a quota elsewhere", quota("b", nil, ptr.To[int32](9), nil), 0},
		{"a quota", quota("a", nil, ptr.To[int32](9), nil), 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var extra []client.Object
			if tc.quota != nil {
				extra = append(extra, tc.quota)
			}
			v := world(t, extra...)
			counter := &podListCounter{Reader: v.Reader}
			v.Reader = counter
			if err := v.CheckPodQuota(context.Background(), pod("a", "p", "u", "red"), nil); err != nil {
				t.Fatal(err)
			}
			if counter.lists != tc.lists {
				t.Errorf("listed the namespace's pods %d times, want %d", counter.lists, tc.lists)
			}
		})
	}
}
