package topology

import (
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"flag"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"switchboard/api/v1alpha1"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// golden compares got with testdata/name, or rewrites it with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to write it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file (go test -update rewrites it):\n--- got\n%s\n--- want\n%s", name, got, want)
	}
}

func render(t *testing.T, write func(io.Writer, Topology) error, topo Topology) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := write(&b, topo); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func TestBuildDemo(t *testing.T) {
	topo := Build(context.Background(), "sample-inter-network", demoInputs())
	if len(topo.Clusters) != 3 || topo.Clusters[2].Error == "" {
		t.Fatalf("clusters: %+v", topo.Clusters)
	}
	a := topo.Clusters[0]
	if len(a.Nodes) != 2 || a.Nodes[0].Name != "a-node1" || a.Nodes[0].Gateway == nil || !a.Nodes[0].Gateway.Ready {
		t.Errorf("cluster a's nodes: %+v", a.Nodes)
	}
	pods := a.Nodes[1].Pods
	if len(pods) != 2 || pods[0].Name != "demo-inter/alice-a" || pods[0].User != "alice" ||
		pods[1].Name != "demo-inter/mallory" || pods[1].Refused != "BadSignature" {
		t.Errorf("a-node2's pods (the other network's bob and the gone pod left out): %+v", pods)
	}
	want := Tunnel{A: Endpoint{"a", "a-node1"}, B: Endpoint{"b", "b-node1"}, ID: 70001, State: StateUp, Encryption: WireGuard}
	if len(topo.Tunnels) != 1 || topo.Tunnels[0] != want {
		t.Errorf("tunnels %+v, want [%+v]", topo.Tunnels, want)
	}
	golden(t, "demo.txt", render(t, WriteText, topo))
	golden(t, "demo.dot", render(t, WriteDot, topo))
}

func TestTunnelDown(t *testing.T) {
	gw := func(enc string, ready bool, detail string) Node {
		return Node{Name: "gw", Gateway: &Gateway{Encryption: enc, Ready: ready, Detail: detail}}
	}
	up := Cluster{Context: "a", Ready: "True", InterClusterVNI: 7}
	for _, tc := range []struct {
		name   string
		a, b   Cluster
		ga, gb Node
		want   Tunnel
	}{
		{"up", up, Cluster{Context: "b", Ready: "True", InterClusterVNI: 7}, gw(WireGuard, true, ""), gw(WireGuard, true, ""),
			Tunnel{ID: 7, State: StateUp, Encryption: WireGuard}},
		{"one edge plain", up, Cluster{Context: "b", Ready: "True", InterClusterVNI: 7}, gw(WireGuard, true, ""), gw(PlainVXLAN, true, ""),
			Tunnel{ID: 7, State: StateUp, Encryption: PlainVXLAN}},
		{"VNIs differ", up, Cluster{Context: "b", Ready: "True", InterClusterVNI: 8}, gw(WireGuard, true, ""), gw(WireGuard, true, ""),
			Tunnel{State: StateDown, Encryption: WireGuard, Detail: "the inter-cluster VNIs differ (a 7, b 8)"}},
		{"not registered, not ready, edge down", up, Cluster{Context: "b", Ready: "False", Reason: "RegistrationFailed"}, gw(WireGuard, true, ""),
			gw(WireGuard, false, "edge pod e is not Ready"),
			Tunnel{State: StateDown, Encryption: WireGuard,
				Detail: "b has no inter-cluster VNI (not registered with the provider); the network is not Ready in b (RegistrationFailed); edge pod e is not Ready"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := tunnel(tc.a, tc.b, tc.ga, tc.gb)
			tc.want.A, tc.want.B = Endpoint{tc.a.Context, "gw"}, Endpoint{tc.b.Context, "gw"}
			if got != tc.want {
				t.Errorf("tunnel = %+v\nwant     %+v", got, tc.want)
			}
		})
	}
}

func TestBuildProblems(t *testing.T) {
	const ns, net = "team", "blue"
	f := &fakeCluster{
		network:  network(ns, net, v1alpha1.ExtVNet, metav1.ConditionFalse, v1alpha1.ReasonRegistrationFailed, 4097, 0),
		nodes:    []corev1.Node{node("n1", "10.0.0.1")},
		errAuths: errors.New("authorizations.switchboard.dev is forbidden"),
		atts: []v1alpha1.Attachment{
			// An edge whose pod was replaced: the new pod has another UID.
			edgeAttachment(ns, net, "n1", "edge", "sbn4097", v1alpha1.WANPlainVXLAN),
		},
		pods: []corev1.Pod{pod("switchboard-system", "edge", "n1", true)},
	}
	f.pods[0].UID = "new-uid"
	missing := &fakeCluster{}
	topo := Build(context.Background(), net, []Input{{Context: "a", Namespace: ns, Source: f}, {Context: "b", Namespace: ns, Source: missing}})
	a := topo.Clusters[0]
	if len(a.Problems) != 1 || !strings.Contains(a.Problems[0], "forbidden") {
		t.Errorf("problems: %q", a.Problems)
	}
	g := a.Nodes[0].Gateway
	if g == nil || g.Ready || !strings.Contains(g.Detail, "was replaced") || g.Encryption != PlainVXLAN {
		t.Errorf("gateway: %+v", g)
	}
	if want := `network team/blue does not exist in this cluster: create it with "switchboard network create"`; topo.Clusters[1].Error != want {
		t.Errorf("missing network: %q, want %q", topo.Clusters[1].Error, want)
	}
	// No gateway at all in an ext-vnet network is a problem worth saying.
	f.atts = nil
	topo = Build(context.Background(), net, []Input{{Context: "a", Namespace: ns, Source: f}})
	if p := topo.Clusters[0].Problems; len(p) != 2 || !strings.HasPrefix(p[1], "no gateway") {
		t.Errorf("problems without a gateway: %q", p)
	}
	golden(t, "problems.txt", render(t, WriteText, topo))
}

// TestSVG checks that the picture is well-formed XML with an svg root, that
// it names every pod, and that it draws a line per tunnel.
func TestSVG(t *testing.T) {
	topo := Build(context.Background(), "sample-inter-network", demoInputs())
	out := render(t, WriteSVG, topo)
	dec := xml.NewDecoder(bytes.NewReader(out))
	var texts strings.Builder
	var root string
	lines := 0
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("the SVG is not well-formed XML: %v\n%s", err, out)
		}
		switch e := tok.(type) {
		case xml.StartElement:
			if root == "" {
				root = e.Name.Space + " " + e.Name.Local
			}
			if e.Name.Local == "line" {
				lines++
			}
		case xml.CharData:
			texts.Write(e)
			texts.WriteString("\n")
		}
	}
	if root != "http://www.w3.org/2000/svg svg" {
		t.Errorf("root element %q, want svg in the SVG namespace", root)
	}
	for _, c := range topo.Clusters {
		for _, n := range c.Nodes {
			for _, p := range n.Pods {
				if !strings.Contains(texts.String(), "pod "+p.Name) {
					t.Errorf("the SVG does not name pod %s", p.Name)
				}
			}
		}
	}
	for _, want := range []string{"10.200.0.110/24", "REFUSED: BadSignature", "cluster c (namespace demo-inter)", "tunnel a/a-node1 <-> b/b-node1: up,", "VNI 70001, WireGuard"} {
		if !strings.Contains(texts.String(), want) {
			t.Errorf("the SVG lacks %q", want)
		}
	}
	if lines != len(topo.Tunnels) || lines == 0 {
		t.Errorf("%d lines for %d tunnels", lines, len(topo.Tunnels))
	}
}

func TestWrap(t *testing.T) {
	for _, tc := range []struct {
		in   string
		n    int
		want string
	}{
		{"", 10, ""},
		{"one two three", 7, "one two|three"},
		{"averyverylongword x", 4, "averyverylongword|x"},
	} {
		if got := strings.Join(wrap(tc.in, tc.n), "|"); got != tc.want {
			t.Errorf("wrap(%q, %d) = %q, want %q", tc.in, tc.n, got, tc.want)
		}
	}
}
