package netctl

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"switchboard/api/v1alpha1"
)

func put(t *testing.T, cluster string, obj client.Object) {
	t.Helper()
	if err := k8s[cluster].Create(context.Background(), obj); err != nil {
		t.Fatalf("cluster %s: create %T %s: %v", cluster, obj, obj.GetName(), err)
	}
}

func attachment(ns, network, name string, spec v1alpha1.AttachmentSpec) *v1alpha1.Attachment {
	spec.Network = network
	spec.NodeIP = "198.18.0.10"
	if spec.Pod.Namespace == "" {
		spec.Pod.Namespace = ns
	}
	spec.Pod.UID = name + "-uid"
	return &v1alpha1.Attachment{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Labels: map[string]string{v1alpha1.LabelNetwork: network}},
		Spec:       spec,
	}
}

// authorization is the operator's record for pod ns/name, with decisions.
func authorization(ns, pod string, decisions ...v1alpha1.NetworkDecision) *v1alpha1.Authorization {
	uid := ns + "-" + pod
	return &v1alpha1.Authorization{
		ObjectMeta: metav1.ObjectMeta{Name: uid},
		Spec:       v1alpha1.AuthorizationSpec{Pod: v1alpha1.PodRef{Namespace: ns, Name: pod, UID: uid}, Networks: decisions},
	}
}

func TestStatusPerCluster(t *testing.T) {
	ns := needEnv(t)
	dir := t.TempDir()
	writeKeys(t, dir, "alice", "bob")
	spec := mustSpec(t, extVNet(dir, "alice=DIR/alice.pub", "a:bob=DIR/bob.pub"), "blue", ns, "a", "b")
	if _, err := create(t, spec, CreateOptions{}, "a", "b"); err != nil {
		t.Fatal(err)
	}
	// What the operators, agents and edge would have written.
	setStatus(t, "a", getNetwork(t, "a", ns, "blue"), metav1.ConditionTrue, v1alpha1.ReasonRegistered, "VNI 4097; registered with provider idco (inter-cluster VNI 70001)", 4097, 70001)
	setStatus(t, "b", getNetwork(t, "b", ns, "blue"), metav1.ConditionFalse, v1alpha1.ReasonRegistrationFailed,
		"register network \"blue\" with provider \"idco\": dial tcp 192.0.2.7:8443: connect: connection refused; retrying", 4098, 0)
	put(t, "a", attachment(ns, "blue", "blue-10.50.0.10", v1alpha1.AttachmentSpec{
		Pod: v1alpha1.PodRef{Name: "client"}, Node: "a-node2", ContainerID: "c1", Interface: "net1",
		MAC: "02:00:00:00:00:0a", IPs: []string{"10.50.0.10/24"},
	}))
	put(t, "a", attachment(ns, "blue", v1alpha1.EdgeAttachmentName("blue", "a-node1"), v1alpha1.AttachmentSpec{
		Role: v1alpha1.RoleEdge, Pod: v1alpha1.PodRef{Namespace: ns, Name: "switchboard-edge-x"}, Node: "a-node1", Interface: "sbn4097",
	}))
	put(t, "a", attachment(ns, "red", "red-10.60.0.10", v1alpha1.AttachmentSpec{
		Pod: v1alpha1.PodRef{Name: "other"}, Node: "a-node1", ContainerID: "c2", Interface: "net1",
	}))
	expires := metav1.NewTime(time.Date(2026, 5, 2, 12, 0, 0, 0, time.UTC))
	blue := v1alpha1.AuthorizationKey(ns, "blue")
	put(t, "a", authorization(ns, "client", v1alpha1.NetworkDecision{Network: blue, Allowed: true, User: "alice", ID: "az-1", Expires: &expires}))
	put(t, "a", authorization(ns, "intruder", v1alpha1.NetworkDecision{Network: blue, User: "mallory", Reason: "NotInAccessList",
		Detail: "mallory is not on the access list of cluster a: the network's owner adds mallory and their key to spec.accessList"}))
	put(t, "a", authorization(ns, "late", v1alpha1.NetworkDecision{Network: blue, User: "alice", Reason: "Expired", Detail: "the token expired"}))
	put(t, "a", authorization(ns, "elsewhere", v1alpha1.NetworkDecision{Network: v1alpha1.AuthorizationKey(ns, "red"), Allowed: true, User: "bob"}))

	statuses := Status(context.Background(), open(t, "a", "b", "down"), ns, "blue")
	var table bytes.Buffer
	if err := WriteTable(&table, "blue", statuses); err != nil {
		t.Fatal(err)
	}
	t.Logf("network status blue --contexts a,b,down:\n%s", table.String())
	out := table.String()
	wantLines(t, out,
		"=== context a: network "+ns+"/blue ===",
		"Ready True Registered: VNI 4097; registered with provider idco (inter-cluster VNI 70001)",
		"VNI 4097", "Inter-cluster VNI 70001", "Provider idco at idco.example:8443", "Access list alice, bob",
		"USER POD DECISION REASON EXPIRES DETAIL",
		"alice "+ns+"/client allowed - 2026-05-02T12:00:00Z -",
		"alice "+ns+"/late refused Expired - the token expired",
		"mallory "+ns+"/intruder refused NotInAccessList - mallory is not on the access list of cluster a",
		"NODE INTERFACE EDGE POD", "a-node1 sbn4097 "+ns+"/switchboard-edge-x",
		"POD NODE INTERFACE IPS MAC", ns+"/client a-node2 net1 10.50.0.10/24 02:00:00:00:00:0a",
		"=== context b: network "+ns+"/blue ===",
		"Ready False RegistrationFailed: register network \"blue\" with provider \"idco\": dial tcp 192.0.2.7:8443: connect: connection refused; retrying",
		"VNI 4098", "Inter-cluster VNI -", "Access list alice",
		"=== context down: network "+ns+"/blue ===",
	)
	if strings.Contains(out, "elsewhere") || strings.Contains(out, "other") {
		t.Errorf("another network's pods are shown:\n%s", out)
	}
	// b has no pods, edges or decisions; down's section is its error.
	b := out[strings.Index(out, "=== context b"):strings.Index(out, "=== context down")]
	if strings.Count(b, "(none)") != 3 {
		t.Errorf("context b: want three empty sections:\n%s", b)
	}
	down := out[strings.Index(out, "=== context down"):]
	if !strings.Contains(down, "error: read network "+ns+"/blue: ") || !strings.Contains(down, "connection refused") {
		t.Errorf("context down: want its connection error:\n%s", down)
	}
	err := StatusError("blue", statuses)
	if err == nil || err.Error() != "network blue: could not be read in 1 of 3 contexts: down" {
		t.Errorf("StatusError: %v", err)
	}

	var js bytes.Buffer
	if err := WriteJSON(&js, "blue", statuses); err != nil {
		t.Fatal(err)
	}
	var report StatusReport
	if err := json.Unmarshal(js.Bytes(), &report); err != nil {
		t.Fatalf("decode %s: %v", js.String(), err)
	}
	a := report.Clusters[0]
	if a.Context != "a" || a.Network.Ready != "True" || a.Network.Reason != "Registered" || a.Network.VNI != 4097 || a.Network.InterClusterVNI != 70001 {
		t.Errorf("json: cluster a %+v", a.Network)
	}
	if len(a.Users) != 2 || a.Users[0].User != "alice" || len(a.Users[0].Allowed) != 1 || a.Users[0].Allowed[0].Pod != ns+"/client" ||
		len(a.Users[0].Refused) != 1 || a.Users[0].Refused[0].Reason != "Expired" ||
		a.Users[1].User != "mallory" || a.Users[1].Refused[0].Reason != "NotInAccessList" {
		t.Errorf("json: cluster a users %+v", a.Users)
	}
	if len(a.Edges) != 1 || a.Edges[0].Interface != "sbn4097" || len(a.Pods) != 1 || a.Pods[0].IPs[0] != "10.50.0.10/24" {
		t.Errorf("json: cluster a edges %+v pods %+v", a.Edges, a.Pods)
	}
	if c := report.Clusters[1]; c.Network.Reason != "RegistrationFailed" || len(c.Users)+len(c.Edges)+len(c.Pods) != 0 {
		t.Errorf("json: cluster b %+v", c)
	}
	if c := report.Clusters[2]; c.Context != "down" || c.Network != nil || !strings.Contains(c.Error, "connection refused") {
		t.Errorf("json: cluster down %+v", c)
	}
	t.Logf("network status blue --contexts a,b,down -o json (cluster b):\n%s", mustJSON(t, report.Clusters[1]))
}

func TestStatusNetworkMissing(t *testing.T) {
	ns := needEnv(t)
	statuses := Status(context.Background(), open(t, "a"), ns, "nothing")
	want := "network " + ns + "/nothing does not exist in this cluster: create it with \"switchboard network create\""
	if statuses[0].Error != want {
		t.Errorf("error %q, want %q", statuses[0].Error, want)
	}
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
