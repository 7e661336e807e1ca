package bgp

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	sbv1 "switchboard/api/v1alpha1"
)

func bgpPeer(name, addr string, mut ...func(*sbv1.BGPPeerSpec)) sbv1.BGPPeer {
	p := sbv1.BGPPeer{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: sbv1.BGPPeerSpec{Address: addr, ASN: 64600, MyASN: 64700}}
	for _, m := range mut {
		m(&p.Spec)
	}
	return p
}

func bgpAd(name string, spec sbv1.BGPAdvertisementSpec) sbv1.BGPAdvertisement {
	return sbv1.BGPAdvertisement{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: spec}
}

func network(ns, name, cidr string, labels map[string]string) sbv1.Network {
	n := sbv1.Network{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Labels: labels}}
	if cidr != "" {
		n.Spec.IPAM = &sbv1.IPAM{CIDR: cidr}
	}
	return n
}

func member(ns, net, node string) sbv1.Attachment {
	return sbv1.Attachment{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: net + "-" + node},
		Spec: sbv1.AttachmentSpec{Network: net, Node: node}}
}

// show renders a Config as text, one line per peer and route.
func show(c Config) string {
	var b strings.Builder
	for _, p := range c.Peers {
		fmt.Fprintf(&b, "peer %s %s:%d as %d my %d pw=%q %v hold %d restart %d", p.Name, p.Address, p.Port, p.ASN, p.MyASN, p.Password, p.Families, p.HoldTime, p.RestartTime)
		if p.TTLHops > 0 {
			fmt.Fprintf(&b, " ttl-hops %d", p.TTLHops)
		}
		b.WriteString("\n")
	}
	for _, r := range c.Routes {
		fmt.Fprintf(&b, "route %s via %s", r.Prefix, r.NextHop)
		for _, c := range r.Communities {
			fmt.Fprintf(&b, " %d:%d", c>>16, c&0xffff)
		}
		b.WriteString("\n")
	}
	return b.String()
}

func TestDesired(t *testing.T) {
	node := Node{Name: "n1", IP: netip.MustParseAddr("198.18.1.11"), Labels: map[string]string{"rack": "a"}, PodCIDRs: []string{"10.244.1.0/24"}}
	passwords := map[string]string{"tor-secret/password": "s3cret"}
	rack := func(v string) *metav1.LabelSelector {
		return &metav1.LabelSelector{MatchLabels: map[string]string{"rack": v}}
	}
	tests := []struct {
		name  string
		w     World
		want  string
		probs []string // substrings of the problems, in order
	}{{
		name: "defaults, node selector, password",
		w: World{Peers: []sbv1.BGPPeer{
			bgpPeer("tor", "198.18.1.1", func(s *sbv1.BGPPeerSpec) { s.PasswordSecret = &sbv1.BGPSecretKey{Name: "tor-secret"} }),
			bgpPeer("other-rack", "198.18.9.1", func(s *sbv1.BGPPeerSpec) { s.NodeSelector = rack("b") }),
			bgpPeer("this-rack", "198.18.3.1", func(s *sbv1.BGPPeerSpec) {
				s.NodeSelector, s.Port, s.HoldTimeSeconds, s.RestartTimeSeconds, s.TTLSecurityHops = rack("a"), 1179, 30, 300, 1
				s.Families = []sbv1.BGPFamily{sbv1.BGPIPv6Unicast, sbv1.BGPIPv4Unicast}
			}),
		}},
		want: "peer tor 198.18.1.1:179 as 64600 my 64700 pw=\"s3cret\" [ipv4-unicast] hold 90 restart 120\n" +
			"peer this-rack 198.18.3.1:1179 as 64600 my 64700 pw=\"\" [ipv4-unicast ipv6-unicast] hold 30 restart 300 ttl-hops 1\n",
	}, {
		name: "a missing password leaves the peer out; a duplicate address too",
		w: World{Peers: []sbv1.BGPPeer{
			bgpPeer("a", "198.18.1.1", func(s *sbv1.BGPPeerSpec) { s.PasswordSecret = &sbv1.BGPSecretKey{Name: "gone", Key: "pw"} }),
			bgpPeer("b", "198.18.2.1"),
			bgpPeer("c", "198.18.2.1"),
		}},
		want:  "peer b 198.18.2.1:179 as 64600 my 64700 pw=\"\" [ipv4-unicast] hold 90 restart 120\n",
		probs: []string{`bgppeer "a" spec.passwordSecret: no key pw in gone; the session stays closed until the Secret "gone" has the key "pw"`, `bgppeer "c" spec.address 198.18.2.1: bgppeer "b" already opens a session to it`},
	}, {
		name: "pod ranges, networks with members here, communities merged",
		w: World{
			Advertisements: []sbv1.BGPAdvertisement{
				bgpAd("pods", sbv1.BGPAdvertisementSpec{PodCIDRs: true, Communities: []string{"64512:100"}}),
				bgpAd("nets", sbv1.BGPAdvertisementSpec{Communities: []string{"64512:200"}, Networks: &sbv1.BGPNetworkSelector{
					Namespaces: []string{"red", "blue"}, Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"announce": "yes"}}}}),
				bgpAd("other-rack", sbv1.BGPAdvertisementSpec{PodCIDRs: true, NodeSelector: rack("b"), Communities: []string{"1:1"}}),
				bgpAd("pods-too", sbv1.BGPAdvertisementSpec{PodCIDRs: true, NodeSelector: rack("a"), Communities: []string{"64512:50"}}),
			},
			Networks: []sbv1.Network{
				network("red", "web", "10.50.0.0/24", map[string]string{"announce": "yes"}),
				network("red", "db", "10.51.0.0/24", map[string]string{"announce": "yes"}),    // no member here
				network("red", "quiet", "10.52.0.0/24", nil),                                  // not selected
				network("green", "web", "10.53.0.0/24", map[string]string{"announce": "yes"}), // namespace not listed
				network("blue", "l2", "", map[string]string{"announce": "yes"}),               // no IPAM
			},
			Attachments: []sbv1.Attachment{
				member("red", "web", "n1"), member("red", "db", "n2"), member("red", "quiet", "n1"),
				member("green", "web", "n1"), member("blue", "l2", "n1"),
			},
		},
		want: "route 10.50.0.0/24 via 198.18.1.11 64512:200\nroute 10.244.1.0/24 via 198.18.1.11 64512:50 64512:100\n",
	}, {
		name: "errors name the field and the fix",
		w: World{
			Peers: []sbv1.BGPPeer{bgpPeer("v6", "fd00::1"), bgpPeer("bad-sel", "198.18.1.1", func(s *sbv1.BGPPeerSpec) {
				s.NodeSelector = &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{{Key: "rack", Operator: "Sometimes"}}}
			})},
			Advertisements: []sbv1.BGPAdvertisement{
				bgpAd("bad-comm", sbv1.BGPAdvertisementSpec{PodCIDRs: true, Communities: []string{"70000:1"}}),
				bgpAd("v6-net", sbv1.BGPAdvertisementSpec{Networks: &sbv1.BGPNetworkSelector{}}),
			},
			Networks:    []sbv1.Network{network("red", "v6", "fd00:50::/64", nil)},
			Attachments: []sbv1.Attachment{member("red", "v6", "n1")},
		},
		probs: []string{
			`bgppeer "bad-sel" spec.nodeSelector: `,
			`bgppeer "v6" spec.address fd00::1: node "n1" has an underlay address of the other IP family`,
			`bgpadvertisement "bad-comm" spec.communities[0] "70000:1": want ASN:value with both parts 0-65535`,
			`bgpadvertisement "v6-net": fd00:50::/64 cannot be announced from node "n1"`,
		},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.w.Node = node
			tt.w.Password = func(k sbv1.BGPSecretKey) (string, error) {
				if pw, ok := passwords[k.Name+"/"+k.Key]; ok {
					return pw, nil
				}
				return "", errors.New("no key " + k.Key + " in " + k.Name)
			}
			cfg, probs := Desired(tt.w)
			if got := show(cfg); got != tt.want {
				t.Errorf("config:\n%s\nwant:\n%s", got, tt.want)
			}
			if len(probs) != len(tt.probs) {
				t.Fatalf("problems %v, want %d: %q", probs, len(tt.probs), tt.probs)
			}
			for i, p := range probs {
				if !strings.Contains(p.Error(), tt.probs[i]) {
					t.Errorf("problem %d = %q, want it to contain %q", i, p, tt.probs[i])
				}
			}
		})
	}
}
