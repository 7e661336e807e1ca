package podgc

import (
	"context"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	"switchboard/api/v1alpha1"
)

// TestGone: the cache answers for a pod it shows with the UID; anything
// else is asked of the API server.
func TestGone(t *testing.T) {
	pod := func(uid string) client.Object {
		return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "t", Name: "p", UID: types.UID("u" + uid)}}
	}
	none := fake.NewClientBuilder().Build()
	for _, tc := range []struct {
		name       string
		cache, api client.Reader
		uid        string
		want       string // in why; "" for a live pod
	}{
		{"live in the cache", fake.NewClientBuilder().WithObjects(pod("1")).Build(), none, "u1", ""},
		{"any UID", fake.NewClientBuilder().WithObjects(pod("2")).Build(), none, "", ""},
		{"new, not cached yet", none, fake.NewClientBuilder().WithObjects(pod("1")).Build(), "u1", ""},
		{"deleted", none, none, "u1", "no longer exists"},
		{"stale cache", fake.NewClientBuilder().WithObjects(pod("0")).Build(), fake.NewClientBuilder().WithObjects(pod("1")).Build(), "u1", ""},
		{"recreated", fake.NewClientBuilder().WithObjects(pod("2")).Build(), fake.NewClientBuilder().WithObjects(pod("2")).Build(), "u1", "recreated (UID u2, not u1)"},
	} {
		why, err := Gone(context.Background(), tc.cache, tc.api, v1alpha1.PodRef{Namespace: "t", Name: "p", UID: tc.uid})
		if err != nil || (tc.want == "") != (why == "") || !strings.Contains(why, tc.want) {
			t.Errorf("%s: %q, %v; want %q", tc.name, why, err, tc.want)
		}
	}
}
