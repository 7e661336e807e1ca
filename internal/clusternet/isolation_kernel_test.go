package clusternet

import (
	"fmt"
	"net/netip"
	"strings"
	"testing"

	"github.com/go-logr/logr"
	"github.com/vishvananda/netns"
	corev1 "k8s.io/api/core/v1"

	"switchboard/internal/cnirpc"
	"switchboard/internal/firewall"
	"switchboard/internal/firewall/isolation"
	"switchboard/internal/netdev"
	"switchboard/internal/netnstest"
)

// The isolation rules on a real node namespace, with a DNAT rule standing
// in for kube-proxy: pods of a shared namespace, an isolated one and an
// isolated one with open Services, pinged directly and through "Service"
// addresses. Each blocked probe has a positive control from the same
// source and to the same target.
func TestKernelIsolation(t *testing.T) {
	env := netnstest.NewPrefixed(t, "sbpm")
	node := env.NS("node")
	if out, err := node.Exec("sysctl", "-qw", "net.ipv4.ip_forward=1"); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	h := node.Handle(t)
	n := &Network{h: h, dev: netdev.New(h, nil), mtu: 1500}
	cidr := netip.MustParsePrefix("10.77.1.0/24")
	pods := map[string]*netnstest.NS{}
	ips := map[string]string{}
	for i, p := range []struct{ name, ns string }{{"shared", "shared"}, {"shared2", "shared"}, {"iso1", "iso"}, {"iso2", "iso"}, {"open", "open"}} {
		pods[p.name] = env.NS(p.name)
		lp, _, err := n.create(cnirpc.Request{ContainerID: fmt.Sprint(i), IfName: "eth0", NetNS: pods[p.name].Path}, cidr, localPod{namespace: p.ns, name: p.name})
		if err != nil {
			t.Fatal(err)
		}
		ips[p.name] = lp.ip.String()
	}
	nss := map[string]*corev1.Namespace{
		"shared": ns("shared", nil),
		"iso":    ns("iso", map[string]string{AnnotationIsolation: "true"}),
		"open":   ns("open", map[string]string{AnnotationIsolation: "true", AnnotationServiceIsolation: "false"}),
	}
	local, err := listPods(h)
	if err != nil {
		t.Fatal(err)
	}
	spec, err := isolation.Spec(classify("n1", nss, nil, local, logr.Discard()))
	if err != nil {
		t.Fatal(err)
	}
	fd, err := netns.GetFromPath(node.Path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { fd.Close() })
	tb, err := firewall.New(firewall.INet, "sbpmt", firewall.WithNetNS(int(fd)))
	if err != nil {
		t.Fatal(err)
	}
	if err := tb.Set(spec); err != nil {
		t.Fatal(err)
	}
	// "Services": a VIP per target, DNATed in prerouting as kube-proxy does.
	svc := map[string]string{"shared": "10.96.0.11", "iso1": "10.96.0.12", "open": "10.96.0.13"}
	nat := [][]string{{"add", "table", "ip", "sbpmsvc"}, {"add", "chain", "ip", "sbpmsvc", "pre", "{ type nat hook prerouting priority dstnat; }"}}
	for target, vip := range svc {
		nat = append(nat, []string{"add", "rule", "ip", "sbpmsvc", "pre", "ip", "daddr", vip, "dnat", "to", ips[target]})
	}
	for _, c := range nat {
		if out, err := node.Exec(append([]string{"nft"}, c...)...); err != nil {
			t.Fatalf("nft %v: %v: %s", c, err, out)
		}
	}
	ping := func(src, dst string) bool {
		_, err := pods[src].Exec("ping", "-c", "1", "-W", "1", dst)
		return err == nil
	}
	// A pod that forges its source (an address of no pod) is dropped at
	// once, before it could pass for an unclassified peer.
	if out, err := pods["iso1"].Exec("ip", "addr", "add", "10.77.1.99/32", "dev", "eth0"); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	_, _ = pods["iso1"].Exec("ping", "-c", "1", "-W", "1", "-I", "10.77.1.99", ips["shared"])
	out, err := node.Exec("nft", "list", "chain", "inet", "sbpmt", "isolation")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, `ip saddr != @local4 counter packets 1 `) {
		t.Errorf("the forged ping was not dropped by the source rule:\n%s", out)
	}
	for _, tc := range []struct {
		src, dst string // dst: a pod, or svc:<pod>
		want     bool
	}{
		{"shared", "shared2", true}, // controls
		{"iso1", "iso2", true},
		{"iso2", "iso1", true},
		{"shared", "svc:open", true},
		{"iso1", "svc:shared", true}, // isolated -> the cluster network's Service
		{"iso2", "svc:iso1", true},   // its own namespace's Service
		{"iso1", "svc:open", true},   // an open Service
		{"shared", "iso1", false},    // the matrix
		{"iso1", "shared", false},
		{"iso1", "open", false},
		{"open", "iso1", false},
		{"shared", "open", false}, // open Services, isolated pods
		{"shared", "svc:iso1", false},
		{"open", "svc:iso1", false},
	} {
		dst, what := ips[tc.dst], tc.dst
		if target, ok := strings.CutPrefix(tc.dst, "svc:"); ok {
			dst = svc[target]
		}
		if got := ping(tc.src, dst); got != tc.want {
			t.Errorf("ping %s -> %s (%s): reached %v, want %v", tc.src, what, dst, got, tc.want)
		}
	}
}
