package agent

import (
	"net/netip"
	"strings"
	"testing"

	sbv1 "switchboard/api/v1alpha1"
	"switchboard/internal/dataplane"
)

func edgeAtt(ns, network, node, nodeIP string) sbv1.Attachment {
	a := att(ns, sbv1.EdgeAttachmentName(network, node), network, node, nodeIP, "")
	a.Spec.Role = sbv1.RoleEdge
	a.Spec.Interface = "sbn4200"
	return a
}

// TestDesiredEdge: an edge attachment gives its node the network's cable,
// even with no pod there, and makes its node a flood-only remote for the
// others; ext-vnet networks are flooded, vnets are not.
func TestDesiredEdge(t *testing.T) {
	inter := net1("t1", "inter", 4200, 0)
	inter.Spec.Type = sbv1.ExtVNet
	networks := []sbv1.Network{inter, net1("t1", "red", 4096, 0)}
	atts := []sbv1.Attachment{
		edgeAtt("t1", "inter", "gw", "198.18.0.10"),
		att("t1", "inter-10-0-0-3", "inter", "n2", "198.18.0.11", "02:00:00:00:00:03", "10.0.0.3/24"),
		att("t1", "inter-10-0-0-4", "inter", "n3", "198.18.0.12", "02:00:00:00:00:04", "10.0.0.4/24"),
		att("t1", "red-10-1-0-3", "red", "n2", "198.18.0.11", "02:00:00:00:01:03", "10.1.0.3/24"),
	}
	for _, tc := range []struct {
		node, ip string
		want     []string
	}{
		{"gw", "198.18.0.10", []string{
			"vni 4200 mtu 0 cable flood",
			"vni 4200 remote 198.18.0.11 02:00:00:00:00:03 [10.0.0.3]",
			"vni 4200 remote 198.18.0.12 02:00:00:00:00:04 [10.0.0.4]",
		}},
		{"n2", "198.18.0.11", []string{
			"vni 4096 mtu 0",
			"vni 4200 mtu 0 flood",
			"vni 4200 remote 198.18.0.10  []", // the gateway: flood-only
			"vni 4200 remote 198.18.0.12 02:00:00:00:00:04 [10.0.0.4]",
		}},
		{"n4", "198.18.0.13", nil}, // no member here: nothing, edge or not
	} {
		base := dataplane.Config{Underlay: "eth0", LocalIP: netip.MustParseAddr(tc.ip)}
		if got, want := render(desired(tc.node, base, networks, atts)), strings.Join(tc.want, "\n"); got != want {
			t.Errorf("node %s:\n%s\nwant:\n%s", tc.node, got, want)
		}
	}
}
