package operator_test

import (
	"context"
	"slices"
	"strings"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"switchboard/api/v1alpha1"
	"switchboard/internal/idco"
	"switchboard/internal/token"
)

// TestNameConflict: an ext-vnet Network of the same name as a registered
// one, in another namespace of the same cluster, does not take over the
// registration: it shows Ready False with reason NameConflict naming the
// holder's cluster and namespace, and a Warning event. The holder's
// registration, access list and pods' authorizations stay as they are, also
// when the losing Network is deleted. Once the holder goes, a waiting
// Network of that name registers.
func TestNameConflict(t *testing.T) {
	ns, name, alice := extSetup(t, "dup", "alice")
	bob := newUser(t, "bob-"+ns[len(ns)-5:])
	ctx := context.Background()
	holder := ns + "/" + name
	pod := tokenPod(t, ns, "p", name, token.SecretKeyToken, alice.sign(t, name), false)
	d := waitDecision(t, pod, holder, func(d v1alpha1.NetworkDecision) bool { return d.Allowed })
	want := []string{testCluster + ":" + ns + ":" + alice.name}
	holderKept := func(when string) {
		t.Helper()
		if got := registrations(t, name); !slices.Equal(got, want) {
			t.Errorf("%s: registrations of %s = %v, want the holder's %v", when, name, got, want)
		}
		l, err := provider.svc.Authorizations(ctx, testCluster, 0, 0)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.ContainsFunc(l.Active, func(a idco.Authorization) bool { return a.ID == d.ID }) {
			t.Errorf("%s: the holder's pod's authorization %s is not active at the provider (active: %+v)", when, d.ID, l.Active)
		}
		if now := waitDecision(t, pod, holder, func(v1alpha1.NetworkDecision) bool { return true }); !now.Allowed {
			t.Errorf("%s: the holder's pod's decision = %+v, want allowed", when, now)
		}
	}

	ns2 := newNamespace(t)
	create(t, extSpec(ns2, name, bob))
	n := waitCondition(t, ns2, name, v1alpha1.ConditionReady, v1alpha1.ReasonNameConflict)
	c := condition(n, v1alpha1.ConditionReady)
	if c.Status != metav1.ConditionFalse {
		t.Errorf("Ready of the second %s = %+v, want False", name, c)
	}
	for _, s := range []string{`cluster "` + testCluster + `"`, `namespace "` + ns + `"`, holder} {
		if !strings.Contains(c.Message, s) {
			t.Errorf("NameConflict message %q does not name %s", c.Message, s)
		}
	}
	if n.Status.RegisteredProvider != nil || n.Status.InterClusterVNI != 0 {
		t.Errorf("the losing Network's status claims a registration: provider %+v, inter-cluster VNI %d", n.Status.RegisteredProvider, n.Status.InterClusterVNI)
	}
	if ev := waitEvent(t, ns2, "Network", name, v1alpha1.ReasonNameConflict); !strings.Contains(ev, holder) {
		t.Errorf("NameConflict event %q does not name the holder %s", ev, holder)
	}
	holderKept("while the second Network exists")

	// Deleting the loser deregisters nothing.
	before := len(audits(t, name, "deregister-network"))
	deleteNetwork(t, ns2, name)
	if after := len(audits(t, name, "deregister-network")); after != before {
		t.Errorf("deleting the losing Network made %d deregistrations", after-before)
	}
	holderKept("after the losing Network was deleted")

	// When the holder goes, the name is free: a Network waiting for it
	// registers.
	ns3 := newNamespace(t)
	create(t, extSpec(ns3, name, bob))
	waitCondition(t, ns3, name, v1alpha1.ConditionReady, v1alpha1.ReasonNameConflict)
	deleteNetwork(t, ns, name)
	waitCondition(t, ns3, name, v1alpha1.ConditionReady, v1alpha1.ReasonRegistered)
	if got, want := registrations(t, name), []string{testCluster + ":" + ns3 + ":" + bob.name}; !slices.Equal(got, want) {
		t.Errorf("registrations of %s after the holder went = %v, want %v", name, got, want)
	}
}

// TestProviderNotAllowed: a Network naming a provider that the operator's
// allow-list leaves out is not registered and says why; a provider name
// that is not a DNS label is refused by the API server.
func TestProviderNotAllowed(t *testing.T) {
	ns := needEnv(t)
	n := extSpec(ns, "unlisted")
	n.Spec.Provider.Name = "not-allowed"
	create(t, n)
	n = waitCondition(t, ns, "unlisted", v1alpha1.ConditionReady, v1alpha1.ReasonProviderNotAllowed)
	if c := condition(n, v1alpha1.ConditionReady); c.Status != metav1.ConditionFalse || !strings.Contains(c.Message, "--allowed-providers=") || !strings.Contains(c.Message, provider.name) {
		t.Errorf("Ready = %+v, want False saying which providers --allowed-providers allows", c)
	}
	waitEvent(t, ns, "Network", "unlisted", v1alpha1.ReasonProviderNotAllowed)

	for _, name := range []string{"../../x", "a/b", "Upper", "-x"} {
		bad := extSpec(ns, "badname")
		bad.Spec.Provider.Name = name
		err := k8s.Create(context.Background(), bad)
		if !apierrors.IsInvalid(err) || !strings.Contains(err.Error(), "spec.provider.name") {
			t.Errorf("a Network with provider name %q: %v, want refused as invalid spec.provider.name", name, err)
		}
	}
}
