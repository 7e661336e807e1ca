package lab

import (
	"strings"
	"testing"
)

func TestPlanAddresses(t *testing.T) {
	topo, err := Plan("sblab", 2, 3)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, c := range topo.Clusters {
		got = append(got, c.Name+" "+c.NetNS+" "+c.APIServer()+" pods="+c.PodCIDR.String()+" svc="+c.ServiceCIDR.String()+" api-svc="+c.APIServiceIP().String()+" dns-svc="+c.DNSServiceIP().String())
		for _, n := range c.Nodes {
			line := "  " + n.Name + " " + n.NetNS + " " + n.IP.String()
			if n.Gateway {
				line += " wan=" + n.WANIP.String()
			}
			got = append(got, line)
		}
	}
	want := `a sblab-a-cp https://198.18.0.1:6443 pods=10.10.0.0/16 svc=10.96.0.0/16 api-svc=10.96.0.1 dns-svc=10.96.0.10
  a-node1 sblab-a-node1 198.18.0.10 wan=198.19.0.10
  a-node2 sblab-a-node2 198.18.0.11
  a-node3 sblab-a-node3 198.18.0.12
b sblab-b-cp https://198.18.1.1:6443 pods=10.11.0.0/16 svc=10.97.0.0/16 api-svc=10.97.0.1 dns-svc=10.97.0.10
  b-node1 sblab-b-node1 198.18.1.10 wan=198.19.0.11
  b-node2 sblab-b-node2 198.18.1.11
  b-node3 sblab-b-node3 198.18.1.12`
	if g := strings.Join(got, "\n"); g != want {
		t.Fatalf("plan:\n%s\nwant:\n%s", g, want)
	}
	if len(topo.NetNSes()) != 1+2*(1+3) {
		t.Fatalf("netns count %d", len(topo.NetNSes()))
	}
}

func TestPlanRejectsBadInput(t *testing.T) {
	for _, tc := range []struct {
		name      string
		clusters  int
		nodes     int
		wantInErr string
	}{
		{"", 2, 2, "invalid lab name"},
		{"Bad-Name", 2, 2, "invalid lab name"},
		{"averyverylongname", 2, 2, "invalid lab name"},
		{"ok", 0, 2, "--clusters"},
		{"ok", MaxClusters + 1, 2, "--clusters"},
		{"ok", 2, 0, "--nodes"},
		{"ok", 2, MaxNodes + 1, "--nodes"},
	} {
		_, err := Plan(tc.name, tc.clusters, tc.nodes)
		if err == nil || !strings.Contains(err.Error(), tc.wantInErr) {
			t.Errorf("Plan(%q, %d, %d) = %v, want error containing %q", tc.name, tc.clusters, tc.nodes, err, tc.wantInErr)
		}
	}
}

func TestLookups(t *testing.T) {
	topo, _ := Plan("x", 2, 2)
	for _, name := range []string{"b-node2", "b/node2"} {
		n, err := topo.Node(name)
		if err != nil || n.Name != "b-node2" {
			t.Errorf("Node(%q) = %v, %v", name, n.Name, err)
		}
	}
	if _, err := topo.Node("c/node1"); err == nil {
		t.Error("Node(c/node1) found a node in a 2-cluster lab")
	}
	if _, err := topo.Cluster("c"); err == nil || !strings.Contains(err.Error(), "a, b") {
		t.Errorf("Cluster(c) error should list the clusters, got %v", err)
	}
}
