package edgectl

import (
	"fmt"
	"net/netip"
	"strings"
	"testing"

	"switchboard/internal/edge"
	"switchboard/internal/idco"
)

func enet(network string, vni, localVNI uint32, ns, name, node string, peers ...string) idco.EdgeNetwork {
	n := idco.EdgeNetwork{Network: network, VNI: vni, LocalVNI: localVNI, Namespace: ns, Name: name,
		Edge: idco.EdgeAttachment{Node: node, Interface: fmt.Sprintf("sbn%d", localVNI)}}
	for _, p := range peers {
		c, ep, _ := strings.Cut(p, "@")
		ep, key, _ := strings.Cut(ep, "#")
		n.Peers = append(n.Peers, idco.EdgePeer{Cluster: c, Endpoint: ep, PublicKey: key})
	}
	return n
}

// renderMerge prints a merge's result, one line per link, attachment and
// problem.
func renderMerge(cfg edge.Config, atts []wantAttachment, problems []mergeProblem) string {
	var lines []string
	lines = append(lines, fmt.Sprintf("wan %s dev %s port %d", cfg.WANLocal, cfg.WANDevice, cfg.WANPort))
	for _, l := range cfg.Links {
		s := fmt.Sprintf("link %d cable %s peers", l.ID, l.Cable)
		for _, p := range l.Peers {
			s += " " + p.Cluster + "@" + p.Endpoint.String()
			if p.PublicKey != "" {
				s += "#" + p.PublicKey
			}
		}
		lines = append(lines, s)
	}
	for _, a := range atts {
		lines = append(lines, fmt.Sprintf("attachment %s/%s %s", a.Namespace, a.Network, a.Cable))
	}
	for _, p := range problems {
		lines = append(lines, "problem "+p.Error())
	}
	return strings.Join(lines, "\n")
}

func TestMerge(t *testing.T) {
	local := Local{Node: "gw", WAN: netip.MustParseAddr("198.19.0.10"), WANDevice: "wan0"}
	wan := "wan 198.19.0.10 dev wan0 port 0"
	for _, tc := range []struct {
		name string
		cfgs map[string]idco.EdgeConfig
		want []string
	}{
		{"nothing", nil, []string{wan}},
		{"one provider, two networks, sorted by VNI", map[string]idco.EdgeConfig{
			"p1": {Networks: []idco.EdgeNetwork{
				enet("blue", 5001, 4097, "t1", "blue", "gw", "c@198.19.0.12:4790", "b@198.19.0.11:4790"),
				enet("red", 5000, 4096, "t1", "red", "gw"),
			}},
		}, []string{wan,
			"link 5000 cable sbn4096 peers",
			"link 5001 cable sbn4097 peers b@198.19.0.11 c@198.19.0.12",
			"attachment t1/blue sbn4097",
			"attachment t1/red sbn4096",
		}},
		{"peers' WireGuard keys go with them", map[string]idco.EdgeConfig{
			"p1": {Networks: []idco.EdgeNetwork{enet("blue", 5001, 4097, "t1", "blue", "gw", "b@198.19.0.11:4790#KEYB", "c@198.19.0.12:4790")}},
		}, []string{wan,
			"link 5001 cable sbn4097 peers b@198.19.0.11#KEYB c@198.19.0.12",
			"attachment t1/blue sbn4097",
		}},
		{"two providers merged", map[string]idco.EdgeConfig{
			"p2": {Networks: []idco.EdgeNetwork{enet("green", 7000, 4098, "t2", "green", "gw", "x@198.19.0.20:4790")}},
			"p1": {Networks: []idco.EdgeNetwork{enet("red", 5000, 4096, "t1", "red", "gw", "b@198.19.0.11:4790")}},
		}, []string{wan,
			"link 5000 cable sbn4096 peers b@198.19.0.11",
			"link 7000 cable sbn4098 peers x@198.19.0.20",
			"attachment t1/red sbn4096",
			"attachment t2/green sbn4098",
		}},
		{"the same VNI from two providers: the first provider by name keeps it", map[string]idco.EdgeConfig{
			"p2": {Networks: []idco.EdgeNetwork{enet("green", 5000, 4098, "t2", "green", "gw")}},
			"p1": {Networks: []idco.EdgeNetwork{enet("red", 5000, 4096, "t1", "red", "gw")}},
		}, []string{wan,
			"link 5000 cable sbn4096 peers",
			"attachment t1/red sbn4096",
			`problem provider "p2", network "green" (vni 5000): inter-cluster VNI 5000 is already carried for provider "p1": give the providers disjoint VNI ranges`,
		}},
		{"one local network under two providers", map[string]idco.EdgeConfig{
			"p1": {Networks: []idco.EdgeNetwork{enet("red", 5000, 4096, "t1", "red", "gw")}},
			"p2": {Networks: []idco.EdgeNetwork{enet("red2", 6000, 4096, "t1", "red", "gw")}},
		}, []string{wan,
			"link 5000 cable sbn4096 peers",
			"attachment t1/red sbn4096",
			`problem provider "p2", network "red2" (vni 6000): local network t1/red (cable sbn4096) is already linked for provider "p1" network "red": a network has one provider`,
		}},
		{"another node's network, an incomplete one, a bad and an odd peer", map[string]idco.EdgeConfig{
			"p1": {Networks: []idco.EdgeNetwork{
				enet("red", 5000, 4096, "t1", "red", "other-gw"),
				enet("blue", 5001, 0, "t1", "blue", "gw"),
				enet("green", 5002, 4098, "t1", "green", "", "b@edge-b.example:4790", "c@198.19.0.12:4789", "d@[fd00::1]:4790"),
			}},
		}, []string{wan,
			"link 5002 cable sbn4098 peers c@198.19.0.12",
			"attachment t1/green sbn4098",
			`problem provider "p1", network "red" (vni 5000): registered for edge node "other-gw", this is "gw": fix the operator's --edge-node or run the edge there`,
			`problem provider "p1", network "blue" (vni 5001): no local network (namespace "t1", name "blue", local VNI 0): the operator registered it incompletely`,
			`problem provider "p1", network "green" (vni 5002): peer "b" has endpoint "edge-b.example:4790", not an IP address and port: ParseAddr("edge-b.example"): unexpected character (at "edge-b.example")`,
			`problem provider "p1", network "green" (vni 5002): peer "c" listens on UDP port 4789, this edge sends to 4790: run every edge with the same --wan-port`,
			`problem provider "p1", network "green" (vni 5002): peer "d" has endpoint fd00::1, not of the WAN address's family (198.19.0.10): the tunnel cannot reach it`,
		}},
	} {
		got := renderMerge(merge(local, tc.cfgs))
		if want := strings.Join(tc.want, "\n"); got != want {
			t.Errorf("%s:\n%s\nwant:\n%s", tc.name, got, want)
		}
	}
}
