package operator_test

import (
	"context"
	"strings"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/tools/record"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"switchboard/api/v1alpha1"
	"switchboard/internal/operator"
)

// The seed's (L2S-M's) NetworkAttachmentDefinitions.
const (
	seedExtVNet = `{"cniVersion":"0.3.0","type":"l2sm","device":"l2sm-vNet","kind":{"ext-vnet":{"provider":{"name":"idco","domain":"example"},"accessList":[]}}}`
	seedVNet    = `{"cniVersion":"0.3.0","type":"l2sm","device":"l2sm-vNet"}`
)

func userNAD(t *testing.T, ns, name, config string) *unstructured.Unstructured {
	t.Helper()
	u := &unstructured.Unstructured{}
	u.SetGroupVersionKind(nadGVK)
	u.SetNamespace(ns)
	u.SetName(name)
	if err := unstructured.SetNestedField(u.Object, config, "spec", "config"); err != nil {
		t.Fatal(err)
	}
	create(t, u)
	return u
}

func TestSeedNADBecomesANetwork(t *testing.T) {
	ns := needEnv(t)
	ext := userNAD(t, ns, "seed-ext", seedExtVNet)
	userNAD(t, ns, "seed-intra", seedVNet)
	userNAD(t, ns, "seed-pool", `{"cniVersion":"0.3.0","type":"switchboard","ipam":{"subnet":"10.90.0.0/24","gateway":"10.90.0.1","ranges":[{"start":"10.90.0.10","end":"10.90.0.99"}],"exclude":["10.90.0.50"]}}`)

	// Its provider, "example", cannot be reached: registration fails, and
	// says so, but the Network is there with the seed's provider.
	net := waitCondition(t, ns, "seed-ext", v1alpha1.ConditionReady, v1alpha1.ReasonRegistrationFailed)
	if net.Spec.Type != v1alpha1.ExtVNet || net.Spec.IPAM != nil || net.Spec.Provider == nil || *net.Spec.Provider != (v1alpha1.Provider{Name: "idco", Domain: "example"}) {
		t.Errorf("network from the ext-vnet seed NAD: spec %+v, want type ext-vnet, pure L2, provider idco/example", net.Spec)
	}
	// Deleting the NAD deletes the Network: envtest runs no garbage
	// collector, so check the ownerReference that lets the real one do it.
	if owner := metav1.GetControllerOf(net); owner == nil || owner.UID != ext.GetUID() {
		t.Errorf("network owner %+v, want the NAD %s", owner, ext.GetUID())
	}

	net = waitCondition(t, ns, "seed-intra", v1alpha1.ConditionReady, v1alpha1.ReasonReady)
	if net.Spec.Type != v1alpha1.VNet || net.Spec.IPAM != nil || net.Status.VNI == 0 {
		t.Errorf("network from the intra-cluster seed NAD: %+v %+v", net.Spec, net.Status)
	}
	// The user's NAD is the definition: the operator does not rewrite it.
	if got, err := getNAD(ns, "seed-intra"); err != nil || nadConfig(got) != seedVNet || len(got.GetOwnerReferences()) != 0 {
		t.Errorf("user's NAD changed: %v %s %v", err, nadConfig(got), got.GetOwnerReferences())
	}

	net = waitCondition(t, ns, "seed-pool", v1alpha1.ConditionReady, v1alpha1.ReasonReady)
	want := v1alpha1.IPAM{CIDR: "10.90.0.0/24", Gateway: "10.90.0.1",
		Ranges: []v1alpha1.IPRange{{Start: "10.90.0.10", End: "10.90.0.99"}}, Exclude: []string{"10.90.0.50"}}
	if net.Spec.IPAM == nil || net.Spec.IPAM.CIDR != want.CIDR || net.Spec.IPAM.Gateway != want.Gateway ||
		len(net.Spec.IPAM.Ranges) != 1 || net.Spec.IPAM.Ranges[0] != want.Ranges[0] ||
		len(net.Spec.IPAM.Exclude) != 1 || net.Spec.IPAM.Exclude[0] != want.Exclude[0] {
		t.Errorf("ipam from the NAD: %+v, want %+v", net.Spec.IPAM, want)
	}
}

func TestMalformedNADConfig(t *testing.T) {
	ns := needEnv(t)
	userNAD(t, ns, "broken", `{"cniVersion":"0.3.0","type":"l2sm",`)
	msg := waitEvent(t, ns, "NetworkAttachmentDefinition", "broken", operator.ReasonInvalidConfig)
	if !strings.Contains(msg, "spec.config is not a JSON object") {
		t.Errorf("event %q does not say what is wrong", msg)
	}
	// The event comes from the reconcile that decided to make nothing.
	var net v1alpha1.Network
	if err := k8s.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: "broken"}, &net); !apierrors.IsNotFound(err) {
		t.Errorf("network from a malformed NAD: got %v, want NotFound", err)
	}

	userNAD(t, ns, "bad-kind", `{"type":"l2sm","kind":{"vpn":{}}}`)
	msg = waitEvent(t, ns, "NetworkAttachmentDefinition", "bad-kind", operator.ReasonInvalidConfig)
	if !strings.Contains(msg, `"kind" must hold exactly one of "vnet", "vlink" or "ext-vnet", not "vpn"`) {
		t.Errorf("event %q", msg)
	}
}

func TestOtherPluginsNADsAreIgnored(t *testing.T) {
	ns := needEnv(t)
	nad := userNAD(t, ns, "mac", `{"cniVersion":"1.0.0","type":"macvlan","master":"eth0"}`)
	r := &operator.NADReconciler{Client: k8s, Recorder: record.NewFakeRecorder(10)}
	if _, err := r.Reconcile(context.Background(), ctrl.Request{NamespacedName: client.ObjectKeyFromObject(nad)}); err != nil {
		t.Fatal(err)
	}
	var net v1alpha1.Network
	if err := k8s.Get(context.Background(), client.ObjectKeyFromObject(nad), &net); !apierrors.IsNotFound(err) {
		t.Errorf("network from a macvlan NAD: got %v, want NotFound", err)
	}
}

// seedAsWritten is seed 000's ext-vnet NAD config, comments and all, with
// its placeholders filled (the provider's name a DNS label, as the CRD
// requires).
const seedAsWritten = `{
      "cniVersion": "0.3.0",
      "type": "l2sm",
      "device": "l2sm-vNet",
      "kind": {
        "ext-vnet": {
          "provider": {
            "name": "idco-1",
            "domain": "example"
          },
          "accessList": [ # no tiene porq ser así. Dejar en abierto.
            # {
            #   "user": "<username-1>",
            #   "public-key": "<public-key-1>"
            # },
          ]
        }
      }
    }`

func TestSeedNADCommentsAreRemoved(t *testing.T) {
	ns := needEnv(t)
	userNAD(t, ns, "seed-commented", seedAsWritten)
	msg := waitEvent(t, ns, "NetworkAttachmentDefinition", "seed-commented", operator.ReasonCommentsRemoved)
	if !strings.Contains(msg, "5 \"#\" comment(s)") || !strings.Contains(msg, operator.AnnotationOriginalConfig) {
		t.Errorf("event %q does not say what was removed and where the original is", msg)
	}
	net := waitCondition(t, ns, "seed-commented", v1alpha1.ConditionReady, v1alpha1.ReasonRegistrationFailed)
	if net.Spec.Provider == nil || net.Spec.Provider.Name != "idco-1" || len(net.Spec.AccessList) != 0 {
		t.Errorf("network from the commented NAD: %+v", net.Spec)
	}
	got, err := getNAD(ns, "seed-commented")
	if err != nil {
		t.Fatal(err)
	}
	if c := nadConfig(got); strings.Contains(c, "tiene") || !strings.Contains(c, `"idco-1"`) {
		t.Errorf("NAD config after the clean-up:\n%s", c)
	}
	if got.GetAnnotations()[operator.AnnotationOriginalConfig] != seedAsWritten {
		t.Errorf("the original config is not kept in %s", operator.AnnotationOriginalConfig)
	}
}
