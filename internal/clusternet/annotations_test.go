package clusternet

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func ns(name string, ann map[string]string) *corev1.Namespace {
	return &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name, Annotations: ann}}
}

func pod(namespace, name string, ann map[string]string) *corev1.Pod {
	return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: name, Annotations: ann}}
}

func TestMembershipOf(t *testing.T) {
	blue := &NetworkRef{Namespace: "nets", Name: "blue"}
	for _, tc := range []struct {
		name string
		ns   *corev1.Namespace
		pod  *corev1.Pod
		want Membership
	}{
		{"default namespace", ns("default", nil), nil, Membership{}},
		{"isolation false", ns("a", map[string]string{AnnotationIsolation: "false"}), nil, Membership{}},
		{"service isolation on a shared namespace is moot", ns("a", map[string]string{AnnotationServiceIsolation: "false"}), nil, Membership{}},
		{"isolated", ns("iso", map[string]string{AnnotationIsolation: "true"}), nil, Membership{Network: "namespace iso"}},
		{"isolated, seed spelling", ns("iso", map[string]string{"opencontrail.org/isolation": "true"}), nil, Membership{Network: "namespace iso"}},
		{"isolated, services open (seed spelling)", ns("iso", map[string]string{"opencontrail.org/isolation": "true", "opencontrail.org/isolation.service": "false"}), nil,
			Membership{Network: "namespace iso", ServicesOpen: true}},
		{"own spelling wins over the alias", ns("iso", map[string]string{AnnotationIsolation: "false", "opencontrail.org/isolation": "true"}), nil, Membership{}},
		{"custom by namespace", ns("a", map[string]string{AnnotationNetwork: "nets/blue"}), nil, Membership{Network: "network nets/blue", Custom: blue}},
		{"custom by namespace, seed JSON", ns("a", map[string]string{"opencontrail.org/network": `{"domain":"default-domain","project":"k8s-nets","name":"blue"}`}), nil,
			Membership{Network: "network nets/blue", Custom: blue}},
		{"custom by pod, over an isolated namespace", ns("nets", map[string]string{AnnotationIsolation: "true"}), pod("nets", "p", map[string]string{AnnotationNetwork: "blue"}),
			Membership{Network: "network nets/blue", Custom: blue}},
		{"pod annotation first", ns("a", map[string]string{AnnotationNetwork: "a/red"}), pod("a", "p", map[string]string{AnnotationNetwork: "nets/blue"}),
			Membership{Network: "network nets/blue", Custom: blue}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := MembershipOf(tc.ns, tc.pod)
			if err != nil {
				t.Fatal(err)
			}
			if got.Network != tc.want.Network || got.ServicesOpen != tc.want.ServicesOpen ||
				(got.Custom == nil) != (tc.want.Custom == nil) || (got.Custom != nil && *got.Custom != *tc.want.Custom) {
				t.Errorf("got %+v (custom %v), want %+v (custom %v)", got, got.Custom, tc.want, tc.want.Custom)
			}
		})
	}
}

// Errors name the object, the annotation as spelled, and the fix.
func TestMembershipErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		ns   *corev1.Namespace
		pod  *corev1.Pod
		want []string
	}{
		{"isolation not a bool", ns("a", map[string]string{"opencontrail.org/isolation": "yes please"}), nil,
			[]string{"namespace a", `opencontrail.org/isolation="yes please"`, `use "true"`}},
		{"service isolation not a bool", ns("a", map[string]string{AnnotationServiceIsolation: "off"}), nil,
			[]string{"namespace a", AnnotationServiceIsolation, `use "false"`}},
		{"network empty", ns("a", nil), pod("a", "p", map[string]string{AnnotationNetwork: "a/"}),
			[]string{"pod a/p", AnnotationNetwork, "name a Network"}},
		{"network JSON without name", ns("a", map[string]string{AnnotationNetwork: `{"project":"k8s-a"}`}), nil,
			[]string{"namespace a", `no "name"`}},
		{"network JSON broken", ns("a", map[string]string{AnnotationNetwork: `{"name":`}), nil,
			[]string{"namespace a", "not valid JSON"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := MembershipOf(tc.ns, tc.pod)
			if err == nil {
				t.Fatal("no error")
			}
			var ae *AnnotationError
			if !asAnnotationError(err, &ae) || !ae.BadRequest() {
				t.Errorf("error %T is not a bad-request *AnnotationError", err)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
		})
	}
}

func asAnnotationError(err error, target **AnnotationError) bool {
	ae, ok := err.(*AnnotationError)
	*target = ae
	return ok
}
