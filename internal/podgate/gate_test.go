package podgate

import (
	"context"
	"encoding/json"
	"errors"
	"testing"

	admissionv1 "k8s.io/api/admission/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	"switchboard/internal/podnet"
)

// fakeNetworks knows which Networks and NADs exist, by "ns/name".
type fakeNetworks struct {
	networks, nads map[string]bool
	err            error
}

func (f fakeNetworks) Network(_ context.Context, r podnet.Ref) (bool, error) {
	return f.networks[r.String()], f.err
}

func (f fakeNetworks) NAD(_ context.Context, r podnet.Ref) (bool, error) {
	return f.nads[r.String()], f.err
}

func podNaming(networks string) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "app", Annotations: map[string]string{podnet.Annotation: networks}},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "x"}}},
	}
}

var nets = fakeNetworks{
	networks: map[string]bool{"app/red": true, "app/blue": true, "other/green": true},
	nads:     map[string]bool{"app/blue": true, "app/foreign": true},
}

func TestUnpublished(t *testing.T) {
	for _, c := range []struct {
		annotation string
		want       []string
	}{
		{"red", []string{"app/red"}}, // Network, no NAD yet
		{"blue", nil},                // published
		{"foreign", nil},             // someone else's NAD
		{"typo", nil},                // neither: Multus will say
		{"blue,red,other/green", []string{"app/red", "other/green"}},
		{`[{"name":"red"},{"name":"red","interface":"net2"}]`, []string{"app/red"}},
		{`[{"name":`, nil}, // unreadable: the validating webhook refuses it
		{"", nil},
	} {
		refs, err := Unpublished(context.Background(), nets, podNaming(c.annotation))
		if err != nil {
			t.Fatalf("%q: %v", c.annotation, err)
		}
		var got []string
		for _, r := range refs {
			got = append(got, r.String())
		}
		if len(got) != len(c.want) || (len(got) > 0 && got[0] != c.want[0]) || (len(got) > 1 && got[1] != c.want[1]) {
			t.Errorf("%q: unpublished %v, want %v", c.annotation, got, c.want)
		}
	}
}

func request(t *testing.T, op admissionv1.Operation, pod *corev1.Pod) admission.Request {
	t.Helper()
	raw, err := json.Marshal(pod)
	if err != nil {
		t.Fatal(err)
	}
	return admission.Request{AdmissionRequest: admissionv1.AdmissionRequest{
		Operation: op, Namespace: pod.Namespace, Object: runtime.RawExtension{Raw: raw},
	}}
}

// applied returns the pod after the response's patch.
func applied(t *testing.T, pod *corev1.Pod, resp admission.Response) *corev1.Pod {
	t.Helper()
	if !resp.Allowed {
		t.Fatalf("refused: %v", resp.Result)
	}
	out := pod.DeepCopy()
	for _, p := range resp.Patches {
		switch p.Path {
		case "/spec/schedulingGates":
			b, _ := json.Marshal(p.Value)
			if err := json.Unmarshal(b, &out.Spec.SchedulingGates); err != nil {
				t.Fatal(err)
			}
		case "/metadata/labels":
			out.Labels = map[string]string{}
			for k, v := range p.Value.(map[string]any) {
				out.Labels[k] = v.(string)
			}
		default:
			t.Errorf("unexpected patch %s %s", p.Operation, p.Path)
		}
	}
	return out
}

func TestMutatorGatesOnlyWhatWaits(t *testing.T) {
	m := &Mutator{Networks: nets}
	ctx := context.Background()

	got := applied(t, podNaming("red"), m.Handle(ctx, request(t, admissionv1.Create, podNaming("red"))))
	if !Gated(got) || got.Labels[Label] != "true" {
		t.Errorf("a pod naming an unpublished network: gates %v, labels %v; want the gate and the label", got.Spec.SchedulingGates, got.Labels)
	}
	for name, pod := range map[string]*corev1.Pod{
		"published":  podNaming("blue"),
		"unreadable": podNaming(`[{"name":`),
		"bound": func() *corev1.Pod {
			p := podNaming("red")
			p.Spec.NodeName = "n1"
			return p
		}(),
	} {
		resp := m.Handle(ctx, request(t, admissionv1.Create, pod))
		if !resp.Allowed || len(resp.Patches) != 0 {
			t.Errorf("%s: allowed %v with %d patches, want allowed untouched", name, resp.Allowed, len(resp.Patches))
		}
	}
	if resp := m.Handle(ctx, request(t, admissionv1.Update, podNaming("red"))); !resp.Allowed || len(resp.Patches) != 0 {
		t.Error("an update was touched: only creations are gated")
	}
	failing := &Mutator{Networks: fakeNetworks{err: errors.New("cache not synced")}}
	resp := failing.Handle(ctx, request(t, admissionv1.Create, podNaming("red")))
	if !resp.Allowed || len(resp.Patches) != 0 || len(resp.Warnings) == 0 {
		t.Errorf("with the networks unreadable: allowed %v, %d patches, warnings %v; want allowed untouched with a warning", resp.Allowed, len(resp.Patches), resp.Warnings)
	}
}
