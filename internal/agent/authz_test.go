package agent

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/containernetworking/cni/pkg/types"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	sbv1 "switchboard/api/v1alpha1"
)

func authAnnotation(t *testing.T, d map[string]sbv1.PodAuthorization) map[string]string {
	t.Helper()
	b, err := json.Marshal(d)
	if err != nil {
		t.Fatal(err)
	}
	return map[string]string{sbv1.AnnotationAuthorizations: string(b)}
}

func TestAuthorizationFor(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	later, earlier := now.Add(time.Hour), now.Add(-time.Second)
	const key = "t1/inter"
	for _, tc := range []struct {
		name  string
		ann   map[string]string
		want  authVerdict
		about string // in why
	}{
		{"no annotation", nil, authPending, ""},
		{"no entry for this network", authAnnotation(t, map[string]sbv1.PodAuthorization{"t1/other": {Allowed: true, ID: "x"}}), authPending, ""},
		{"allowed", authAnnotation(t, map[string]sbv1.PodAuthorization{key: {Allowed: true, ID: "a1", Expires: &later}}), authAllowed, ""},
		{"allowed, no expiry known", authAnnotation(t, map[string]sbv1.PodAuthorization{key: {Allowed: true, ID: "a1"}}), authAllowed, ""},
		{"refused", authAnnotation(t, map[string]sbv1.PodAuthorization{key: {Reason: "NotInAccessList", Detail: "add alice"}}), authRefused, "NotInAccessList: add alice"},
		{"refused without reason", authAnnotation(t, map[string]sbv1.PodAuthorization{key: {}}), authRefused, "Refused"},
		{"allowed without ID", authAnnotation(t, map[string]sbv1.PodAuthorization{key: {Allowed: true, Expires: &later}}), authRefused, "no authorization ID"},
		{"expired", authAnnotation(t, map[string]sbv1.PodAuthorization{key: {Allowed: true, ID: "a1", Expires: &earlier}}), authRefused, "Expired"},
		{"expires now", authAnnotation(t, map[string]sbv1.PodAuthorization{key: {Allowed: true, ID: "a1", Expires: &now}}), authRefused, "Expired"},
		{"not JSON", map[string]string{sbv1.AnnotationAuthorizations: "yes"}, authRefused, "not a JSON object"},
	} {
		got, why := authorizationFor(tc.ann, key, now)
		if got != tc.want || !strings.Contains(why, tc.about) {
			t.Errorf("%s: %v, %q; want %v saying %q", tc.name, got, why, tc.want, tc.about)
		}
	}
}

// TestAwaitAuthorization: the agent's wait reads the pod from the API
// server and answers at once on a decision.
func TestAwaitAuthorization(t *testing.T) {
	n := net1("t1", "inter", 4200, 0)
	n.Spec.Type = sbv1.ExtVNet
	later := time.Now().Add(time.Hour)
	for _, tc := range []struct {
		name string
		d    map[string]sbv1.PodAuthorization
		uid  string
		code uint // 0: allowed
		want string
	}{
		{"allowed", map[string]sbv1.PodAuthorization{"t1/inter": {Allowed: true, ID: "a1", Expires: &later}}, "u1", 0, ""},
		{"refused", map[string]sbv1.PodAuthorization{"t1/inter": {Reason: "RevokedKey", Detail: "the key was revoked"}}, "u1", codeBadRequest, "RevokedKey: the key was revoked"},
		{"recreated pod", map[string]sbv1.PodAuthorization{"t1/inter": {Allowed: true, ID: "a1"}}, "u0", codeBadRequest, "recreated"},
	} {
		pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "t1", Name: "p", UID: "u1", Annotations: authAnnotation(t, tc.d)}}
		a := &Agent{apiReader: fake.NewClientBuilder().WithObjects(pod).Build()}
		start := time.Now()
		err := a.awaitAuthorization(context.Background(), &n, sbv1.PodRef{Namespace: "t1", Name: "p", UID: tc.uid})
		if time.Since(start) > 2*time.Second {
			t.Errorf("%s: took %s, want an answer at once", tc.name, time.Since(start))
		}
		var re *requestError
		switch {
		case tc.code == 0 && err != nil:
			t.Errorf("%s: %v, want allowed", tc.name, err)
		case tc.code != 0 && (!errors.As(err, &re) || re.code != tc.code || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%s: %v, want code %d saying %q", tc.name, err, tc.code, tc.want)
		}
	}

	// No decision: the wait ends (here by the caller's deadline, shorter
	// than authWait) with "try again later", naming the likely cause.
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "t1", Name: "p", UID: "u1"}}
	a := &Agent{apiReader: fake.NewClientBuilder().WithObjects(pod).Build()}
	ctx, cancel := context.WithTimeout(context.Background(), 600*time.Millisecond)
	defer cancel()
	err := a.awaitAuthorization(ctx, &n, sbv1.PodRef{Namespace: "t1", Name: "p", UID: "u1"})
	var re *requestError
	if !errors.As(err, &re) || re.code != types.ErrTryAgainLater || !strings.Contains(err.Error(), "--inter-cluster") {
		t.Errorf("no decision: %v, want ErrTryAgainLater asking about --inter-cluster", err)
	}
}
