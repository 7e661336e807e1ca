package admission

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	sbv1 "switchboard/api/v1alpha1"
	"switchboard/internal/ipam"
	"switchboard/internal/podnet"
)

func testScheme(t testing.TB) *runtime.Scheme {
	s := runtime.NewScheme()
	for _, add := range []func(*runtime.Scheme) error{clientgoscheme.AddToScheme, sbv1.AddToScheme} {
		if err := add(s); err != nil {
			t.Fatal(err)
		}
	}
	return s
}

func network(ns, name, cidr string, sharedWith ...string) *sbv1.Network {
	n := &sbv1.Network{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}, Spec: sbv1.NetworkSpec{Type: sbv1.VNet, SharedWith: sharedWith}}
	if cidr != "" {
		n.Spec.IPAM = &sbv1.IPAM{CIDR: cidr}
	}
	return n
}

func pod(ns, name, uid, annotation string) *corev1.Pod {
	p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, UID: types.UID(uid)}}
	if annotation != "" {
		p.Annotations = map[string]string{podnet.Annotation: annotation}
	}
	return p
}

// attachment is the Attachment of pod (ns/name, uid) holding addr on network.
func attachment(netNS, network, addr, podNS, podName, uid string) *sbv1.Attachment {
	a := &sbv1.Attachment{Spec: sbv1.AttachmentSpec{Network: network, Pod: sbv1.PodRef{Namespace: podNS, Name: podName, UID: uid}, IPs: []string{addr + "/24"}}}
	a.Namespace = netNS
	a.Name = ipam.AttachmentName(network, mustAddr(addr))
	return a
}

// world is the cluster the tests validate against: tenants a and b, each
// with a network of the same name "shared-name" (names collide across
// namespaces), b's "open" shared with a, and c's "everyone" shared with all.
func world(t testing.TB, extra ...client.Object) *Validator {
	objs := []client.Object{
		network("a", "red", "10.20.0.0/24"),
		network("a", "l2", ""),
		network("a", "shared-name", "10.21.0.0/24"),
		network("b", "shared-name", "10.22.0.0/24"),
		network("b", "open", "10.23.0.0/24", "a"),
		network("c", "everyone", "10.24.0.0/24", "*"),
		network("a", "broken", "10.25.0.0/33"),
		attachment("a", "red", "10.20.0.7", "a", "holder", "uid-holder"),
		pod("a", "holder", "uid-holder", "red"),
		attachment("a", "red", "10.20.0.8", "a", "gone", "uid-gone"),     // pod gone: stale
		attachment("a", "red", "10.20.0.9", "a", "recreated", "uid-old"), // pod recreated: stale
		pod("a", "recreated", "uid-new", ""),
	}
	c := fake.NewClientBuilder().WithScheme(testScheme(t)).WithObjects(append(objs, extra...)...).Build()
	return &Validator{Reader: c}
}

func TestValidatePod(t *testing.T) {
	many := make([]string, MaxSelections+1)
	for i := range many {
		many[i] = fmt.Sprintf("red@n%d", i)
	}
	hugeName := strings.Repeat("x", 300_000)
	cases := []struct {
		name, ns, annotation string
		want                 []string // substrings of the refusal; none: admitted
	}{
		{"no annotation", "a", "", nil},
		{"own network, short form", "a", "red", nil},
		{"own network and a shared one", "a", "red,b/open@eth1", nil},
		{"shared with everyone", "b", "c/everyone", nil},
		{"unknown network passes (created later, or another plugin's)", "a", "nosuch", nil},
		{"pure L2 with a static address", "a", `[{"name":"l2","ips":["192.168.9.1/24"]}]`, nil},
		{"free static address", "a", `[{"name":"red","ips":["10.20.0.50/24"]}]`, nil},
		{"address of a pod that is gone", "a", `[{"name":"red","ips":["10.20.0.8"]}]`, nil},
		{"address of a pod recreated since", "a", `[{"name":"red","ips":["10.20.0.9"]}]`, nil},
		{"same name, own namespace wins", "a", "shared-name", nil},

		{"another tenant's network", "a", "b/shared-name",
			[]string{"element 0", `"b/shared-name"`, "pods of namespace a may not join network b/shared-name", `add "a" to the network's spec.sharedWith`}},
		{"shared with a only, not c", "c", "b/open", []string{"pods of namespace c may not join network b/open"}},
		{"JSON form, other namespace", "a", `[{"name":"shared-name","namespace":"b"}]`, []string{"b/shared-name"}},
		{"malformed JSON", "a", `[{"name": `, []string{"not valid JSON", "write a JSON list"}},
		{"element without a name", "a", `[{"interface":"x"}]`, []string{"element 0 has no \"name\""}},
		{"empty short-form name", "a", "red,,l2", []string{"empty network name"}},
		{"static address outside the range", "a", `[{"name":"red","ips":["10.91.0.5/24"]}]`,
			[]string{"static address 10.91.0.5", "network a/red", "pick an address in 10.20.0.0/24"}},
		{"static address of the network itself", "a", `[{"name":"red","ips":["10.20.0.0/24"]}]`, []string{"static address 10.20.0.0"}},
		{"static address taken", "a", `[{"name":"red","ips":["10.20.0.7/24"]}]`,
			[]string{"10.20.0.7", "already used by pod a/holder", "choose another address"}},
		{"not an address", "a", `[{"name":"red","ips":["ten.0.0.1"]}]`, []string{`"ten.0.0.1"`, "not an IP or CIDR"}},
		{"same address twice in one pod", "a", `[{"name":"red","ips":["10.20.0.60"],"interface":"a1"},{"name":"red","ips":["10.20.0.60"],"interface":"a2"}]`,
			[]string{"element 1", "also element 0's"}},
		{"duplicate interface names", "a", "red@net9,l2@net9", []string{"element 1", `interface "net9" is also element 0's`}},
		{"explicit name clashes with a default one", "a", "red,l2@net1", []string{`interface "net1" is also element 0's`}},
		{"eth0 is the primary interface", "a", "red@eth0", []string{`"eth0" is the pod's own`}},
		{"interface name too long", "a", "red@abcdefghijklmnop", []string{"16 bytes long"}},
		{"unicode interface name over 15 bytes", "a", "red@ßßßßßßßß", []string{"16 bytes long"}},
		{"interface with a slash", "a", `[{"name":"red","interface":"a/b"}]`, []string{"contains '/'"}},
		{"interface with a space", "a", `[{"name":"red","interface":"a b"}]`, []string{"contains a space"}},
		{"unicode network name", "a", "réd", []string{`"réd"`, "not a valid Network name"}},
		{"unicode namespace", "a", "ñ/red", []string{"not a valid namespace name"}},
		{"bad mac", "a", `[{"name":"red","mac":"zz"}]`, []string{`"mac" "zz"`}},
		{"own bandwidth", "a", `[{"name":"red","bandwidth":{"egressRate":20000000}}]`, nil},
		{"negative bandwidth", "a", `[{"name":"red","bandwidth":{"egressRate":-1}}]`, []string{"element 0 (red): bandwidth.egressRate -1 is negative"}},
		{"bandwidth as a quantity string", "a", `[{"name":"red","bandwidth":{"ingressRate":"100M"}}]`, []string{"bandwidth.ingressRate must be a number"}},
		{"network with an invalid spec", "a", "broken", []string{"network a/broken is invalid"}},
		{"too many elements", "a", strings.Join(many, ","), []string{"asks for 65 networks", "more than 64"}},
		{"huge name is cut in the message", "a", hugeName, []string{"not a valid Network name", `"...`}},
		{"many bad elements: short answer", "a", strings.Repeat("b/shared-name@x,", 30) + "red", []string{"and 54 more"}},
	}
	v := world(t)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := v.ValidatePod(context.Background(), pod(tc.ns, "p", "uid-p", tc.annotation))
			if len(tc.want) == 0 {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			var r *Refusal
			if !errors.As(err, &r) {
				t.Fatalf("want a refusal containing %q, got %v", tc.want, err)
			}
			msg := err.Error()
			for _, w := range tc.want {
				if !strings.Contains(msg, w) {
					t.Errorf("refusal does not contain %q:\n%s", w, msg)
				}
			}
			if len(msg) > 4096 {
				t.Errorf("refusal is %d bytes long: hostile input must get a short answer", len(msg))
			}
		})
	}
}

// A pod keeps its own address on update: the Attachment holding it is its
// own.
func TestValidatePodOwnAddress(t *testing.T) {
	v := world(t)
	p := pod("a", "holder", "uid-holder", `[{"name":"red","ips":["10.20.0.7/24"]}]`)
	if err := v.ValidatePod(context.Background(), p); err != nil {
		t.Fatalf("a pod's own address refused: %v", err)
	}
}

func mustAddr(s string) netip.Addr { return netip.MustParseAddr(s) }
