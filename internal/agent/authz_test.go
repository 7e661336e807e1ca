package agent

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/containernetworking/cni/pkg/types"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	sbv1 "switchboard/api/v1alpha1"
)

// authRecord is the Authorization the operator writes for pod, holding ds.
func authRecord(pod sbv1.PodRef, ds ...sbv1.NetworkDecision) *sbv1.Authorization {
	return &sbv1.Authorization{
		ObjectMeta: metav1.ObjectMeta{Name: pod.UID},
		Spec:       sbv1.AuthorizationSpec{Pod: pod, Networks: ds},
	}
}

// authAgent is an agent whose API server holds objs.
func authAgent(t *testing.T, objs ...client.Object) *Agent {
	t.Helper()
	scheme := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	if err := sbv1.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	return &Agent{apiReader: fake.NewClientBuilder().WithScheme(scheme).WithObjects(objs...).Build()}
}

func TestAuthorizationFor(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	later, earlier, at := metav1.NewTime(now.Add(time.Hour)), metav1.NewTime(now.Add(-time.Second)), metav1.NewTime(now)
	const key = "t1/inter"
	pod := sbv1.PodRef{Namespace: "t1", Name: "p", UID: "u1"}
	allowed := sbv1.NetworkDecision{Network: key, Allowed: true, ID: "a1", Expires: &later}
	renamed := authRecord(pod, allowed)
	renamed.Name = "u2"
	for _, tc := range []struct {
		name  string
		az    *sbv1.Authorization
		want  authVerdict
		about string // in why
	}{
		{"no entry for this network", authRecord(pod, sbv1.NetworkDecision{Network: "t1/other", Allowed: true, ID: "x"}), authPending, ""},
		{"allowed", authRecord(pod, allowed), authAllowed, ""},
		{"allowed, no expiry known", authRecord(pod, sbv1.NetworkDecision{Network: key, Allowed: true, ID: "a1"}), authAllowed, ""},
		{"refused", authRecord(pod, sbv1.NetworkDecision{Network: key, Reason: "NotInAccessList", Detail: "add alice"}), authRefused, "NotInAccessList: add alice"},
		{"refused without reason", authRecord(pod, sbv1.NetworkDecision{Network: key}), authRefused, "Refused"},
		{"allowed without ID", authRecord(pod, sbv1.NetworkDecision{Network: key, Allowed: true, Expires: &later}), authRefused, "no authorization ID"},
		{"expired", authRecord(pod, sbv1.NetworkDecision{Network: key, Allowed: true, ID: "a1", Expires: &earlier}), authRefused, "Expired"},
		{"expires now", authRecord(pod, sbv1.NetworkDecision{Network: key, Allowed: true, ID: "a1", Expires: &at}), authRefused, "Expired"},
		{"record for another UID", authRecord(sbv1.PodRef{Namespace: "t1", Name: "p", UID: "u2"}, allowed), authRefused, "not this one"},
		{"record for another pod", authRecord(sbv1.PodRef{Namespace: "t1", Name: "q", UID: "u1"}, allowed), authRefused, "not this one"},
		{"record named by another UID", renamed, authRefused, "not this one"},
	} {
		got, why := authorizationFor(tc.az, pod, key, now)
		if got != tc.want || !strings.Contains(why, tc.about) {
			t.Errorf("%s: %v, %q; want %v saying %q", tc.name, got, why, tc.want, tc.about)
		}
	}
}

// TestAwaitAuthorization: the agent's wait reads the pod's Authorization
// from the API server and answers at once on a decision.
func TestAwaitAuthorization(t *testing.T) {
	n := net1("t1", "inter", 4200, 0)
	n.Spec.Type = sbv1.ExtVNet
	later := metav1.NewTime(time.Now().Add(time.Hour))
	u1 := sbv1.PodRef{Namespace: "t1", Name: "p", UID: "u1"}
	for _, tc := range []struct {
		name string
		d    sbv1.NetworkDecision
		uid  string // in the CNI args
		code uint   // 0: allowed
		want string
	}{
		{"allowed", sbv1.NetworkDecision{Network: "t1/inter", Allowed: true, ID: "a1", Expires: &later}, "u1", 0, ""},
		{"allowed, runtime gives no UID", sbv1.NetworkDecision{Network: "t1/inter", Allowed: true, ID: "a1"}, "", 0, ""},
		{"refused", sbv1.NetworkDecision{Network: "t1/inter", Reason: "RevokedKey", Detail: "the key was revoked"}, "u1", codeBadRequest, "RevokedKey: the key was revoked"},
		{"recreated pod", sbv1.NetworkDecision{Network: "t1/inter", Allowed: true, ID: "a1"}, "u0", codeBadRequest, "recreated"},
	} {
		pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "t1", Name: "p", UID: "u1"}}
		a := authAgent(t, pod, authRecord(u1, tc.d))
		// A decision that is there is answered from it: waiting for one
		// would end in the "has not decided" error, which no case accepts.
		err := a.awaitAuthorization(context.Background(), &n, sbv1.PodRef{Namespace: "t1", Name: "p", UID: tc.uid})
		var re *requestError
		switch {
		case tc.code == 0 && err != nil:
			t.Errorf("%s: %v, want allowed", tc.name, err)
		case tc.code != 0 && (!errors.As(err, &re) || re.code != tc.code || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%s: %v, want code %d saying %q", tc.name, err, tc.code, tc.want)
		}
	}

	// No decision: the wait ends (here by the caller's deadline, shorter
	// than authWait) with "try again later", naming what is missing and
	// the likely cause.
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "t1", Name: "p", UID: "u1"}}
	other := sbv1.NetworkDecision{Network: "t1/other", Allowed: true, ID: "a2"}
	for _, tc := range []struct {
		name    string
		objs    []client.Object
		missing string
	}{
		{"no record", []client.Object{pod}, "no Authorization object u1"},
		{"no entry", []client.Object{pod, authRecord(u1, other)}, "no entry for t1/inter in Authorization u1"},
	} {
		err := awaitBriefly(authAgent(t, tc.objs...), &n, u1)
		var re *requestError
		if !errors.As(err, &re) || re.code != types.ErrTryAgainLater || !strings.Contains(err.Error(), tc.missing) || !strings.Contains(err.Error(), "--inter-cluster") {
			t.Errorf("%s: %v, want ErrTryAgainLater saying %q and asking about --inter-cluster", tc.name, err, tc.missing)
		}
	}
}

// awaitBriefly waits for a decision for less than a second.
func awaitBriefly(a *Agent, n *sbv1.Network, pod sbv1.PodRef) error {
	ctx, cancel := context.WithTimeout(context.Background(), 600*time.Millisecond)
	defer cancel()
	return a.awaitAuthorization(ctx, n, pod)
}

// TestForgedDecisionsAreNotAdmitted: what a user may write does not admit
// a pod. The switchboard.dev/authorizations annotation, where decisions
// used to live, is ignored, and an Authorization that is not the record
// of the pod the runtime asks for is refused.
func TestForgedDecisionsAreNotAdmitted(t *testing.T) {
	n := net1("t1", "inter", 4200, 0)
	n.Spec.Type = sbv1.ExtVNet
	forged := func() *corev1.Pod {
		return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "t1", Name: "p", UID: "u1", Annotations: map[string]string{
			"switchboard.dev/authorizations": `{"t1/inter": {"allowed": true, "user": "mallory", "id": "az-made-up", "podUID": "u1"}}`,
		}}}
	}
	u1 := sbv1.PodRef{Namespace: "t1", Name: "p", UID: "u1"}

	err := awaitBriefly(authAgent(t, forged()), &n, u1)
	var re *requestError
	if !errors.As(err, &re) || re.code != types.ErrTryAgainLater {
		t.Errorf("forged annotation, no Authorization: %v; want not admitted (ErrTryAgainLater)", err)
	}

	allowed := sbv1.NetworkDecision{Network: "t1/inter", Allowed: true, User: "mallory", ID: "az-made-up"}
	other := authRecord(sbv1.PodRef{Namespace: "t1", Name: "p", UID: "u2"}, allowed)
	other.Name = "u1" // named by the pod's UID, made for another
	err = awaitBriefly(authAgent(t, forged(), other), &n, u1)
	if !errors.As(err, &re) || re.code != codeBadRequest || !strings.Contains(err.Error(), "not this one") {
		t.Errorf("Authorization for UID u2 under pod u1's name: %v; want a bad request saying it is not this pod's", err)
	}
}
