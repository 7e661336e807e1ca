package admission

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	admissionv1 "k8s.io/api/admission/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"
)

func request(t *testing.T, op admissionv1.Operation, obj, old runtime.Object) admission.Request {
	raw := func(o runtime.Object) runtime.RawExtension {
		if o == nil {
			return runtime.RawExtension{}
		}
		b, err := json.Marshal(o)
		if err != nil {
			t.Fatal(err)
		}
		return runtime.RawExtension{Raw: b}
	}
	return admission.Request{AdmissionRequest: admissionv1.AdmissionRequest{Operation: op, Namespace: "a", Object: raw(obj), OldObject: raw(old)}}
}

func TestPodHandler(t *testing.T) {
	v := world(t)
	h := &podHandler{v: v, dec: admission.NewDecoder(testScheme(t))}
	thief := pod("", "p", "u", "b/shared-name") // namespace from the request
	cases := []struct {
		name     string
		op       admissionv1.Operation
		obj, old runtime.Object
		allowed  bool
		msg      string
	}{
		{"create, another tenant's network", admissionv1.Create, thief, nil, false, "pods of namespace a may not join network b/shared-name"},
		{"create, own network", admissionv1.Create, pod("", "p", "u", "red"), nil, true, ""},
		{"update, annotation unchanged: not judged (the pod predates the webhook)", admissionv1.Update, thief, thief, true, ""},
		{"update, annotation changed", admissionv1.Update, thief, pod("", "p", "u", "red"), false, "may not join"},
		{"not a pod", admissionv1.Create, nil, nil, false, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res := h.Handle(context.Background(), request(t, tc.op, tc.obj, tc.old))
			if res.Allowed != tc.allowed {
				t.Fatalf("allowed = %v, want %v (%+v)", res.Allowed, tc.allowed, res.Result)
			}
			if tc.msg != "" && !strings.Contains(res.Result.Message, tc.msg) {
				t.Fatalf("message %q lacks %q", res.Result.Message, tc.msg)
			}
		})
	}
}

func TestNetworkHandlerOnlyCreate(t *testing.T) {
	v := world(t, quota("a", ptr.To[int32](0), nil, nil))
	h := &networkHandler{v: v, dec: admission.NewDecoder(testScheme(t))}
	n := network("", "new", "")
	if res := h.Handle(context.Background(), request(t, admissionv1.Create, n, nil)); res.Allowed || !strings.Contains(res.Result.Message, "spec.maxNetworks is 0") {
		t.Fatalf("create over the quota: %+v", res.Result)
	}
	if res := h.Handle(context.Background(), request(t, admissionv1.Update, n, n)); !res.Allowed {
		t.Fatalf("update refused: %+v", res.Result)
	}
}
