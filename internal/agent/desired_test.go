package agent

import (
	"fmt"
	"net/netip"
	"sort"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	sbv1 "switchboard/api/v1alpha1"
	"switchboard/internal/dataplane"
)

func net1(ns, name string, vni int32, mtu int32) sbv1.Network {
	return sbv1.Network{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec:       sbv1.NetworkSpec{Type: sbv1.VNet, MTU: mtu},
		Status:     sbv1.NetworkStatus{VNI: vni},
	}
}

func att(ns, name, network, node, nodeIP, mac string, ips ...string) sbv1.Attachment {
	return sbv1.Attachment{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec:       sbv1.AttachmentSpec{Network: network, Node: node, NodeIP: nodeIP, MAC: mac, IPs: ips},
	}
}

// render prints a config as sorted lines, for comparing.
func render(c dataplane.Config) string {
	var lines []string
	for vni, n := range c.Networks {
		line := fmt.Sprintf("vni %d mtu %d", vni, n.MTU)
		if n.EdgeCable {
			line += " cable"
		}
		if n.Flood {
			line += " flood"
		}
		lines = append(lines, line)
		for _, r := range n.Remotes {
			lines = append(lines, fmt.Sprintf("vni %d remote %s %s %v", vni, r.NodeIP, r.MAC, r.IPs))
		}
	}
	sort.Strings(lines)
	return strings.Join(lines, "\n")
}

func TestDesired(t *testing.T) {
	base := dataplane.Config{Underlay: "eth0", LocalIP: netip.MustParseAddr("198.18.0.10")}
	networks := []sbv1.Network{
		net1("t1", "red", 4096, 0),
		net1("t1", "blue", 4097, 1400),
		net1("t2", "red", 4098, 0),       // same name, other namespace: another network
		net1("t1", "pending", 0, 0),      // no VNI yet: skipped
		net1("t1", "elsewhere", 4099, 0), // members only on other nodes: not here
	}
	atts := []sbv1.Attachment{
		att("t1", "red-10-0-0-2", "red", "n1", "198.18.0.10", "02:00:00:00:00:02", "10.0.0.2/24"),
		att("t1", "red-10-0-0-3", "red", "n2", "198.18.0.11", "02:00:00:00:00:03", "10.0.0.3/24"),
		att("t1", "red-10-0-0-4", "red", "n3", "198.18.0.12", "02:00:00:00:00:04", "10.0.0.4/24"),
		att("t1", "red-bad", "red", "n2", "198.18.0.11", "not-a-mac"), // unusable: skipped
		att("t1", "blue-1", "blue", "n1", "198.18.0.10", "02:00:00:00:01:01"),
		att("t2", "red-10-0-0-3", "red", "n2", "198.18.0.11", "02:00:00:00:02:03", "10.0.0.3/24"), // t2/red has no local member
		att("t1", "pending-1", "pending", "n1", "198.18.0.10", "02:00:00:00:03:01"),
		att("t1", "elsewhere-1", "elsewhere", "n2", "198.18.0.11", "02:00:00:00:04:01"),
	}
	got := render(desired("n1", base, networks, atts))
	want := strings.Join([]string{
		"vni 4096 mtu 0",
		"vni 4096 remote 198.18.0.11 02:00:00:00:00:03 [10.0.0.3]",
		"vni 4096 remote 198.18.0.12 02:00:00:00:00:04 [10.0.0.4]",
		"vni 4097 mtu 1400",
	}, "\n")
	if got != want {
		t.Fatalf("desired:\n%s\nwant:\n%s", got, want)
	}
	// Deterministic: the same inputs in another order give the same config.
	rev := append([]sbv1.Attachment(nil), atts...)
	for i, j := 0, len(rev)-1; i < j; i, j = i+1, j-1 {
		rev[i], rev[j] = rev[j], rev[i]
	}
	a, b := desired("n1", base, networks, atts), desired("n1", base, networks, rev)
	if fmt.Sprint(a.Networks[4096].Remotes) != fmt.Sprint(b.Networks[4096].Remotes) {
		t.Fatalf("order of remotes depends on input order:\n%v\n%v", a.Networks[4096].Remotes, b.Networks[4096].Remotes)
	}
}

func TestAdmit(t *testing.T) {
	n := net1("t1", "red", 4096, 0)
	n.Spec.SharedWith = []string{"t3"}
	for _, tc := range []struct {
		podNS string
		mod   func(*sbv1.Network)
		want  string
	}{
		{"t1", nil, ""},
		{"t3", nil, ""},
		{"t2", nil, `add "t2" to the network's spec.sharedWith`},
		{"t2", func(n *sbv1.Network) { n.Spec.SharedWith = []string{"*"} }, ""},
		{"t1", func(n *sbv1.Network) { n.Spec.Type = sbv1.VLink }, "use type vnet or ext-vnet"},
		{"t1", func(n *sbv1.Network) { n.Status.VNI = 0 }, "not ready yet"},
	} {
		c := n.DeepCopy()
		if tc.mod != nil {
			tc.mod(c)
		}
		err := admitNetwork(c, sbv1.PodRef{Namespace: tc.podNS, Name: "p"})
		if (err == nil) != (tc.want == "") || err != nil && !strings.Contains(err.Error(), tc.want) {
			t.Errorf("pod in %s: got %v, want %q", tc.podNS, err, tc.want)
		}
	}
}
