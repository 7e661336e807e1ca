package clusternet

import (
	"net/netip"
	"testing"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
)

func remote(namespace, name, node, ip string, ann map[string]string) corev1.Pod {
	p := pod(namespace, name, ann)
	p.Spec.NodeName = node
	p.Status.PodIPs = []corev1.PodIP{{IP: ip}}
	return *p
}

// Local pods come from the kernel (known from their ADD, before the API
// has their address); remote pods from the API; a namespace that turns
// isolated moves its local pods too.
func TestClassify(t *testing.T) {
	nss := map[string]*corev1.Namespace{
		"default": ns("default", nil),
		"iso":     ns("iso", map[string]string{AnnotationIsolation: "true"}),
		"open":    ns("open", map[string]string{AnnotationIsolation: "true", AnnotationServiceIsolation: "false"}),
		"bad":     ns("bad", map[string]string{AnnotationIsolation: "maybe"}),
	}
	pods := []corev1.Pod{
		remote("default", "r1", "n2", "10.0.2.2", nil),
		remote("iso", "r2", "n2", "10.0.2.3", nil),
		remote("open", "r3", "n2", "10.0.2.4", nil),
		remote("bad", "r4", "n2", "10.0.2.5", nil),                // left out: its ADD failed
		remote("default", "here", "n1", "10.0.1.9", nil),          // this node's: the kernel's record counts
		{Spec: corev1.PodSpec{HostNetwork: true, NodeName: "n2"}}, // no pod address
	}
	local := []localPod{
		{hostIf: "sbp1", ip: netip.MustParseAddr("10.0.1.2"), namespace: "iso", name: "l1"},                             // recorded shared, namespace now isolated
		{hostIf: "sbp2", ip: netip.MustParseAddr("10.0.1.3"), namespace: "gone", name: "l2", network: "namespace gone"}, // namespace not in cache: as at ADD
	}
	cfg := classify("n1", nss, pods, local, logr.Discard())
	if got := addrs(cfg.Shared); got != "10.0.2.2" {
		t.Errorf("shared = %s", got)
	}
	want := map[string]string{"namespace gone": "10.0.1.3", "namespace iso": "10.0.1.2 10.0.2.3", "namespace open": "10.0.2.4"}
	if len(cfg.Isolated) != len(want) {
		t.Fatalf("isolated = %+v", cfg.Isolated)
	}
	for _, n := range cfg.Isolated {
		if addrs(n.Pods) != want[n.Name] {
			t.Errorf("%s = %s, want %s", n.Name, addrs(n.Pods), want[n.Name])
		}
		if n.ServicesOpen != (n.Name == "namespace open") {
			t.Errorf("%s: ServicesOpen %v", n.Name, n.ServicesOpen)
		}
	}
}

func addrs(a []netip.Addr) string {
	s := ""
	for i, x := range a {
		if i > 0 {
			s += " "
		}
		s += x.String()
	}
	return s
}
