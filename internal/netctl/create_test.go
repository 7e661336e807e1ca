package netctl

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"switchboard/api/v1alpha1"
)

// create runs Create for spec with opts and returns what it printed.
func create(t *testing.T, spec Spec, opts CreateOptions, contexts ...string) (string, error) {
	t.Helper()
	var out bytes.Buffer
	err := Create(context.Background(), open(t, contexts...), spec, opts, &out)
	t.Logf("network create %s --contexts %s:\n%s", spec.Name, strings.Join(contexts, ","), out.String())
	return out.String(), err
}

func mustSpec(t *testing.T, f Flags, name, ns string, contexts ...string) Spec {
	t.Helper()
	s, err := f.Spec(name, ns, contexts)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// wantLines fails unless every line of want is in out, with its fields in
// order and separated by white space only (the table's alignment).
func wantLines(t *testing.T, out string, want ...string) {
	t.Helper()
	var got []string
	for _, l := range strings.Split(out, "\n") {
		got = append(got, strings.Join(strings.Fields(l), " "))
	}
	for _, w := range want {
		found := false
		for _, g := range got {
			found = found || strings.Contains(g, w)
		}
		if !found {
			t.Errorf("output lacks a line with %q:\n%s", w, out)
		}
	}
}

func accessUsers(net *v1alpha1.Network) string {
	var users []string
	for _, e := range net.Spec.AccessList {
		users = append(users, e.User)
	}
	return strings.Join(users, ",")
}

func TestCreateExtVNetInTwoClusters(t *testing.T) {
	ns := needEnv(t)
	dir := t.TempDir()
	pems := writeKeys(t, dir, "alice", "bob", "carol")
	flags := extVNet(dir, "alice=DIR/alice.pub", "a:bob=DIR/bob.pub", "b:carol=DIR/carol.pub")
	flags.CIDR, flags.Gateway, flags.Ranges = "10.50.0.0/24", "10.50.0.1", []string{"10.50.0.10-10.50.0.99"}
	spec := mustSpec(t, flags, "blue", ns, "a", "b")

	out, err := create(t, spec, CreateOptions{}, "a", "b")
	if err != nil {
		t.Fatal(err)
	}
	wantLines(t, out, "CONTEXT NETWORK RESULT", "a "+ns+"/blue created", "b "+ns+"/blue created")
	for cluster, users := range map[string]string{"a": "alice,bob", "b": "alice,carol"} {
		net := getNetwork(t, cluster, ns, "blue")
		if got := accessUsers(net); got != users {
			t.Errorf("cluster %s: access list %s, want %s", cluster, got, users)
		}
		if net.Spec.AccessList[0].PublicKey != pems["alice"] {
			t.Errorf("cluster %s: alice's key %q", cluster, net.Spec.AccessList[0].PublicKey)
		}
		if net.Spec.Type != v1alpha1.ExtVNet || *net.Spec.Provider != (v1alpha1.Provider{Name: "idco", Domain: "idco.example:8443"}) ||
			net.Spec.IPAM.CIDR != "10.50.0.0/24" || net.Spec.IPAM.Gateway != "10.50.0.1" || len(net.Spec.IPAM.Ranges) != 1 {
			t.Errorf("cluster %s: spec %+v", cluster, net.Spec)
		}
	}

	out, err = create(t, spec, CreateOptions{}, "a", "b")
	if err != nil {
		t.Fatal(err)
	}
	wantLines(t, out, "a "+ns+"/blue unchanged", "b "+ns+"/blue unchanged")

	// bob leaves a's list: apply removes what it applied before.
	flags = extVNet(dir, "alice=DIR/alice.pub", "b:carol=DIR/carol.pub")
	flags.CIDR, flags.Gateway, flags.Ranges = "10.50.0.0/24", "10.50.0.1", []string{"10.50.0.10-10.50.0.99"}
	out, err = create(t, mustSpec(t, flags, "blue", ns, "a", "b"), CreateOptions{}, "a", "b")
	if err != nil {
		t.Fatal(err)
	}
	wantLines(t, out, "a "+ns+"/blue updated", "b "+ns+"/blue unchanged")
	if got := accessUsers(getNetwork(t, "a", ns, "blue")); got != "alice" {
		t.Errorf("cluster a: access list %s after bob left, want alice", got)
	}
}

func TestCreateDryRunChangesNothing(t *testing.T) {
	ns := needEnv(t)
	dir := t.TempDir()
	writeKeys(t, dir, "alice", "bob")
	spec := mustSpec(t, extVNet(dir, "alice=DIR/alice.pub", "b:bob=DIR/bob.pub"), "green", ns, "a", "b")
	out, err := create(t, spec, CreateOptions{DryRun: true}, "a", "b")
	if err != nil {
		t.Fatal(err)
	}
	docs := strings.Split(out, "\n---\n")
	if len(docs) != 2 || !strings.HasPrefix(docs[0], "# context a\n") || !strings.HasPrefix(docs[1], "# context b\n") {
		t.Fatalf("want a YAML document per context:\n%s", out)
	}
	for i, users := range [][]string{{"alice"}, {"alice", "bob"}} {
		for _, u := range users {
			if !strings.Contains(docs[i], "user: "+u) {
				t.Errorf("document %d lacks user %s:\n%s", i, u, docs[i])
			}
		}
	}
	wantLines(t, docs[1], "kind: Network", "namespace: "+ns, "domain: idco.example:8443", "type: ext-vnet")
	for _, c := range []string{"a", "b"} {
		err := k8s[c].Get(context.Background(), client.ObjectKey{Namespace: ns, Name: "green"}, &v1alpha1.Network{})
		if !apierrors.IsNotFound(err) {
			t.Errorf("cluster %s: dry run made the network (get: %v)", c, err)
		}
	}
}

func TestCreateBadCIDRNamesContextAndField(t *testing.T) {
	ns := needEnv(t)
	good := mustSpec(t, Flags{Type: "vnet", CIDR: "10.60.0.0/24"}, "red", ns, "a", "b")
	if _, err := create(t, good, CreateOptions{}, "a", "b"); err != nil {
		t.Fatal(err)
	}
	bad := mustSpec(t, Flags{Type: "vnet", CIDR: "10.60.0.0/33"}, "red", ns, "a", "b")
	out, err := create(t, bad, CreateOptions{}, "a", "b")
	if err == nil || !strings.Contains(err.Error(), "failed in 2 of 2 contexts (see above): a, b") {
		t.Fatalf("error %v, want both contexts named", err)
	}
	for _, c := range []string{"a", "b"} {
		// The API server's CEL message, as is, on the context's line.
		wantLines(t, out, c+" "+ns+"/red failed: apply network "+ns+"/red: Network.switchboard.dev \"red\" is invalid: spec.ipam.cidr: Invalid value: \"string\": cidr must be a CIDR such as 10.20.0.0/24")
		if got := getNetwork(t, c, ns, "red").Spec.IPAM.CIDR; got != "10.60.0.0/24" {
			t.Errorf("cluster %s: cidr %s after a refused update", c, got)
		}
	}
}

func TestCreateFailureInOneContextDoesNotStopTheOther(t *testing.T) {
	ns := needEnv(t, "a") // no such namespace in b
	spec := mustSpec(t, Flags{Type: "vnet"}, "plain", ns, "a", "b")
	out, err := create(t, spec, CreateOptions{}, "a", "b")
	if err == nil || !strings.Contains(err.Error(), "failed in 1 of 2 contexts (see above): b") {
		t.Fatalf("error %v, want context b named", err)
	}
	wantLines(t, out, "a "+ns+"/plain created",
		"b "+ns+"/plain failed: apply network "+ns+"/plain: namespaces \""+ns+"\" not found: create the namespace first (kubectl --context b create namespace "+ns+")")
	getNetwork(t, "a", ns, "plain")
}

func TestOpenUnknownContext(t *testing.T) {
	if skipEnv != "" {
		t.Skip(skipEnv)
	}
	_, err := Open(Config{Kubeconfig: kubeconfig, Contexts: []string{"a", "c"}})
	want := `context "c" is not in the kubeconfig (` + kubeconfig + `): it has a, b, down`
	if err == nil || err.Error() != want {
		t.Fatalf("error %v, want %s", err, want)
	}
}

// setStatus plays the operator: it reports on net's current generation.
func setStatus(t *testing.T, cluster string, net *v1alpha1.Network, ready metav1.ConditionStatus, reason, msg string, vni, interVNI int32) {
	t.Helper()
	net.Status.ObservedGeneration = net.Generation
	net.Status.VNI, net.Status.InterClusterVNI = vni, interVNI
	meta.SetStatusCondition(&net.Status.Conditions, metav1.Condition{
		Type: v1alpha1.ConditionReady, Status: ready, Reason: reason, Message: msg, ObservedGeneration: net.Generation,
	})
	if err := k8s[cluster].Status().Update(context.Background(), net); err != nil {
		t.Fatalf("cluster %s: update status: %v", cluster, err)
	}
}

func TestCreateWaitsAndReportsReadiness(t *testing.T) {
	ns := needEnv(t)
	dir := t.TempDir()
	writeKeys(t, dir, "alice")
	spec := mustSpec(t, extVNet(dir, "alice=DIR/alice.pub"), "blue", ns, "a", "b")
	if _, err := create(t, spec, CreateOptions{}, "a", "b"); err != nil {
		t.Fatal(err)
	}
	setStatus(t, "a", getNetwork(t, "a", ns, "blue"), metav1.ConditionTrue, v1alpha1.ReasonRegistered, "VNI 4097; registered with provider idco (inter-cluster VNI 70001)", 4097, 70001)

	out, err := create(t, spec, CreateOptions{Wait: time.Second}, "a", "b")
	if err == nil || !strings.Contains(err.Error(), "failed in 1 of 2 contexts (see above): b") {
		t.Fatalf("error %v, want context b (no operator) named", err)
	}
	wantLines(t, out, "waiting up to 1s for each network to be Ready",
		"CONTEXT READY REASON VNI INTER-CLUSTER VNI MESSAGE",
		"a True Registered 4097 70001 VNI 4097; registered with provider idco (inter-cluster VNI 70001)",
		"b - - - - no status from the operator yet: is switchboard-operator running in this cluster?")
}
