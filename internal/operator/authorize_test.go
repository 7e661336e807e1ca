package operator_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"switchboard/api/v1alpha1"
	"switchboard/internal/intercluster"
	"switchboard/internal/token"
)

// extNetwork creates an ext-vnet Network at the test provider with the
// given users on its access list and waits until it is registered.
func extNetwork(t *testing.T, ns, name string, users ...user) {
	t.Helper()
	create(t, extSpec(ns, name, users...))
	waitCondition(t, ns, name, v1alpha1.ConditionReady, v1alpha1.ReasonRegistered)
}

// extSpec is an ext-vnet Network at the test provider with the given users
// on its access list.
func extSpec(ns, name string, users ...user) *v1alpha1.Network {
	n := network(ns, name, nil)
	n.Spec.Type = v1alpha1.ExtVNet
	n.Spec.Provider = &v1alpha1.Provider{Name: provider.name, Domain: provider.domain}
	for _, u := range users {
		n.Spec.AccessList = append(n.Spec.AccessList, v1alpha1.AccessEntry{User: u.name, PublicKey: u.pubPEM})
	}
	return n
}

// extSetup makes a fresh namespace and, in it, an ext-vnet network
// <prefix>-<suffix> whose access list holds a new user <who>-<suffix>
// (names are global at the IDCO, so they carry the namespace's suffix).
func extSetup(t *testing.T, prefix, who string) (ns, name string, u user) {
	t.Helper()
	ns = needEnv(t)
	suffix := ns[len(ns)-5:]
	u = newUser(t, who+"-"+suffix)
	name = prefix + "-" + suffix
	extNetwork(t, ns, name, u)
	return ns, name, u
}

// tokenPod creates a Secret holding raw under data key (none if raw is "")
// and a pod on network that names it in its token-secret annotation, or
// mounts it as a volume if mount is set.
func tokenPod(t *testing.T, ns, name, network, key, raw string, mount bool) *corev1.Pod {
	t.Helper()
	pod := newPod(ns, name)
	pod.Annotations = map[string]string{"k8s.v1.cni.cncf.io/networks": network}
	if raw != "" {
		create(t, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name + "-token"}, Data: map[string][]byte{key: []byte(raw)}})
		if mount {
			pod.Spec.Volumes = []corev1.Volume{{Name: "token", VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{SecretName: name + "-token"}}}}
		} else {
			pod.Annotations[token.AnnotationSecret] = name + "-token"
		}
	}
	create(t, pod)
	return pod
}

// waitDecision waits until the decision on network netKey in the pod's
// Authorization satisfies ok and returns it.
func waitDecision(t *testing.T, pod *corev1.Pod, netKey string, ok func(v1alpha1.NetworkDecision) bool) v1alpha1.NetworkDecision {
	t.Helper()
	var d v1alpha1.NetworkDecision
	eventually(t, fmt.Sprintf("decision on %s for pod %s", netKey, pod.Name), func() error {
		az, err := authorizationOf(pod)
		if err != nil {
			return err
		}
		var found bool
		if d, found = az.Spec.Decision(netKey); !found || !ok(d) {
			return fmt.Errorf("decisions %+v", az.Spec.Networks)
		}
		return nil
	})
	return d
}

// authorizationOf reads the Authorization of pod (named by its UID, which
// it reads first) and checks that it names the pod.
func authorizationOf(pod *corev1.Pod) (*v1alpha1.Authorization, error) {
	var p corev1.Pod
	if err := k8s.Get(context.Background(), client.ObjectKeyFromObject(pod), &p); err != nil {
		return nil, err
	}
	var az v1alpha1.Authorization
	if err := k8s.Get(context.Background(), client.ObjectKey{Name: string(p.UID)}, &az); err != nil {
		return nil, err
	}
	want := v1alpha1.PodRef{Namespace: p.Namespace, Name: p.Name, UID: string(p.UID)}
	if az.Spec.Pod != want || az.Labels[v1alpha1.LabelPodNamespace] != p.Namespace || az.Labels[v1alpha1.LabelPodName] != p.Name {
		return nil, fmt.Errorf("authorization %s is for pod %+v, labelled %v; want %+v", az.Name, az.Spec.Pod, az.Labels, want)
	}
	return &az, nil
}

func podCondition(t *testing.T, pod *corev1.Pod, status corev1.ConditionStatus, reason string) corev1.PodCondition {
	t.Helper()
	var c corev1.PodCondition
	eventually(t, fmt.Sprintf("pod %s condition %s=%s", pod.Name, status, reason), func() error {
		var p corev1.Pod
		if err := k8s.Get(context.Background(), client.ObjectKeyFromObject(pod), &p); err != nil {
			return err
		}
		for _, c = range p.Status.Conditions {
			if c.Type == v1alpha1.ConditionNetworksAuthorized && c.Status == status && c.Reason == reason {
				return nil
			}
		}
		return fmt.Errorf("conditions %+v", p.Status.Conditions)
	})
	return c
}

// TestPodAuthorization: each pod on an ext-vnet network gets a decision in
// its Authorization, an event and a condition; revoking the user's key at the
// provider refuses the pod, says so and deletes its Attachment.
func TestPodAuthorization(t *testing.T) {
	ns := needEnv(t)
	suffix := ns[len(ns)-5:]
	alice, carol := newUser(t, "alice-"+suffix), newUser(t, "carol-"+suffix)
	mallory := newUser(t, "mallory-"+suffix) // a key the access list does not hold for alice
	name := "authz-" + suffix
	extNetwork(t, ns, name, alice)
	key := ns + "/" + name
	sign := func(u user, c token.Claims) string {
		t.Helper()
		raw, err := token.Sign(c, u.key)
		if err != nil {
			t.Fatal(err)
		}
		return raw
	}
	hour := time.Now().Add(time.Hour)
	ok := tokenPod(t, ns, "ok", name, token.SecretKeyToken, alice.sign(t, name), false)
	seed := tokenPod(t, ns, "seed", name, token.SecretKeySeed, alice.sign(t, name), true)
	for _, tc := range []struct{ pod, raw, reason string }{
		{"forged", sign(mallory, token.Claims{Network: name, User: alice.name, Expiry: hour}), string(token.ReasonForged)},
		{"expired", sign(alice, token.Claims{Network: name, User: alice.name, IssuedAt: time.Now().Add(-2 * time.Hour), Expiry: time.Now().Add(-time.Hour)}), string(token.ReasonExpired)},
		{"wrongnet", alice.sign(t, "elsewhere-"+suffix), string(token.ReasonWrongNetwork)},
		{"unlisted", carol.sign(t, name), intercluster.ReasonNotInAccessList},
		{"notoken", "", intercluster.ReasonNoToken},
	} {
		t.Run(tc.pod, func(t *testing.T) {
			pod := tokenPod(t, ns, tc.pod, name, token.SecretKeyToken, tc.raw, false)
			d := waitDecision(t, pod, key, func(d v1alpha1.NetworkDecision) bool { return d.Reason != "" })
			if d.Allowed || d.Reason != tc.reason || d.ID != "" || d.Detail == "" {
				t.Errorf("decision %+v, want refused with %s and a detail", d, tc.reason)
			}
			msg := waitEvent(t, ns, "Pod", tc.pod, intercluster.ReasonAuthorizationRefused)
			if !strings.Contains(msg, tc.reason+": ") {
				t.Errorf("event %q does not give the reason %s", msg, tc.reason)
			}
			podCondition(t, pod, corev1.ConditionFalse, tc.reason)
		})
	}
	nt := waitDecision(t, &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "notoken"}}, key, func(d v1alpha1.NetworkDecision) bool { return true })
	if !strings.Contains(nt.Detail, "switchboard token sign --network "+name) || !strings.Contains(nt.Detail, token.AnnotationSecret) {
		t.Errorf("NoToken detail %q does not say how to make and name the Secret", nt.Detail)
	}

	for _, pod := range []*corev1.Pod{ok, seed} {
		d := waitDecision(t, pod, key, func(d v1alpha1.NetworkDecision) bool { return d.Allowed })
		if d.ID == "" || d.User != alice.name || d.Expires == nil || d.DecidedAt == nil {
			t.Errorf("pod %s: decision %+v, want an authorization ID, user, expiry and time", pod.Name, d)
		}
		if msg := waitEvent(t, ns, "Pod", pod.Name, intercluster.ReasonNetworkAuthorized); !strings.Contains(msg, alice.name) || !strings.Contains(msg, key) {
			t.Errorf("event %q does not name the user and network", msg)
		}
		podCondition(t, pod, corev1.ConditionTrue, intercluster.ConditionReasonAuthorized)
	}

	// The agent attached the pod: revoking alice's key takes it off.
	if err := k8s.Get(context.Background(), client.ObjectKeyFromObject(ok), ok); err != nil {
		t.Fatal(err)
	}
	att := attachment(ns, name, "10.61.0.2", ok)
	other := newPod(ns, "other") // on the network without needing a decision
	create(t, other)
	kept := attachment(ns, name, "10.61.0.3", other)
	create(t, att)
	create(t, kept)
	fp, err := token.Fingerprint(alice.key.Public())
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if err := provider.svc.RevokeKey(context.Background(), fp); err != nil {
		t.Fatal(err)
	}
	d := waitDecision(t, ok, key, func(d v1alpha1.NetworkDecision) bool { return !d.Allowed })
	t.Logf("revocation reached the pod's Authorization %v after the IDCO's change", time.Since(start))
	if d.Reason != string(token.ReasonRevokedKey) || d.ID == "" {
		t.Errorf("decision after revocation %+v, want refused with RevokedKey, keeping the ID", d)
	}
	if msg := waitEvent(t, ns, "Pod", "ok", intercluster.ReasonNetworkAccessRevoked); !strings.Contains(msg, "RevokedKey") {
		t.Errorf("revocation event %q does not say why", msg)
	}
	podCondition(t, ok, corev1.ConditionFalse, string(token.ReasonRevokedKey))
	waitDecision(t, seed, key, func(d v1alpha1.NetworkDecision) bool {
		return !d.Allowed && d.Reason == string(token.ReasonRevokedKey)
	})
	waitGone(t, att)
	if err := k8s.Get(context.Background(), client.ObjectKeyFromObject(kept), kept); err != nil {
		t.Errorf("another pod's attachment on the network: %v; want it kept", err)
	}
}

// TestDeletedPodIsReleased: the authorization of a pod that is deleted is
// released at the provider, so that the edges may disconnect, and the
// pod's Authorization is deleted.
func TestDeletedPodIsReleased(t *testing.T) {
	ns, name, dave := extSetup(t, "release", "dave")
	pod := tokenPod(t, ns, "gone", name, token.SecretKeyToken, dave.sign(t, name), false)
	d := waitDecision(t, pod, ns+"/"+name, func(d v1alpha1.NetworkDecision) bool { return d.Allowed })
	active := func() (bool, error) {
		l, err := provider.svc.Authorizations(context.Background(), testCluster, 0, 0)
		if err != nil {
			return false, err
		}
		for _, a := range l.Active {
			if a.ID == d.ID {
				return true, nil
			}
		}
		return false, nil
	}
	if on, err := active(); err != nil || !on {
		t.Fatalf("authorization %s active at the provider: %v, %v; want true", d.ID, on, err)
	}
	az, err := authorizationOf(pod)
	if err != nil {
		t.Fatal(err)
	}
	if err := k8s.Delete(context.Background(), pod, client.GracePeriodSeconds(0)); err != nil {
		t.Fatal(err)
	}
	waitGone(t, az)
	eventually(t, "authorization "+d.ID+" released", func() error {
		on, err := active()
		if err == nil && on {
			err = fmt.Errorf("still active")
		}
		return err
	})
}
