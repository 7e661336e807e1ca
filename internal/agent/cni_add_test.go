package agent

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"

	"switchboard/internal/cnirpc"
	"switchboard/internal/dataplane"
	"switchboard/internal/netnstest"
	"switchboard/internal/podnet"
)

// CNI configurations of network t1/red: the operator's, and a seed-format
// one that declares no capabilities, so that the agent reads the pod's
// annotation.
const (
	testConfig = `{"cniVersion":"1.0.0","name":"red","type":"switchboard","network":"t1/red","capabilities":{"ips":true,"mac":true}}`
	seedConfig = `{"cniVersion":"1.0.0","name":"red","type":"l2sm"}`
)

// call sends one CNI command for container id's net1 in pod namespace ns.
func (ta *testAgent) call(command, id string, ns *netnstest.NS, config string) error {
	resp := ta.Handle(context.Background(), cnirpc.Request{
		Command: command, ContainerID: id, NetNS: ns.Path, IfName: "net1",
		Args: "K8S_POD_NAMESPACE=t1;K8S_POD_NAME=p1;K8S_POD_UID=u1", Config: []byte(config),
	})
	if resp.Error != nil {
		return resp.Error
	}
	return nil
}

// podMAC returns net1's MAC in ns, "" if there is no net1.
func podMAC(t *testing.T, ns *netnstest.NS) string {
	t.Helper()
	l, err := ns.Handle(t).LinkByName("net1")
	if err != nil {
		return ""
	}
	return l.Attrs().HardwareAddr.String()
}

func linkNames(t *testing.T, ns *netnstest.NS) []string {
	t.Helper()
	links, err := ns.Handle(t).LinkList()
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, l := range links {
		out = append(out, l.Attrs().Name)
	}
	return out
}

// TestAddCheckDel: ADD makes the attachment and the interface with the same
// MAC; a retried ADD changes nothing; CHECK passes; DEL removes both and is
// idempotent.
func TestAddCheckDel(t *testing.T) {
	ta := newTestAgent(t, "10.50.0.0/24", interceptor.Funcs{})
	pod := ta.env.NS("pod")
	for range 2 {
		if err := ta.call("ADD", "c1", pod, testConfig); err != nil {
			t.Fatalf("ADD: %v", err)
		}
	}
	atts, ports := ta.state(t)
	if len(atts) != 1 || !strings.HasPrefix(atts[0], "red-10-50-0-") || len(ports) != 1 || ports[0] != dataplane.HostIfName("c1", "net1") {
		t.Fatalf("after ADD: attachments %v, ports %v", atts, ports)
	}
	if mac := podMAC(t, pod); !strings.HasSuffix(atts[0], " "+mac) {
		t.Errorf("pod MAC %s, attachment %s", mac, atts[0])
	}
	if err := ta.call("CHECK", "c1", pod, testConfig); err != nil {
		t.Errorf("CHECK: %v", err)
	}
	for range 2 {
		if err := ta.call("DEL", "c1", pod, testConfig); err != nil {
			t.Errorf("DEL: %v", err)
		}
	}
	if atts, ports := ta.state(t); len(atts)+len(ports) != 0 {
		t.Errorf("after DEL: attachments %v, ports %v", atts, ports)
	}
}

// TestAddAnnotationMAC: with a seed-format config the pod's annotation
// gives the address and the MAC; the link, made before the annotation is
// read, ends with that MAC.
func TestAddAnnotationMAC(t *testing.T) {
	sel := `[{"name":"red","mac":"02:00:00:00:00:42","ips":["10.50.0.9/24"]}]`
	p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "t1", Name: "p1", UID: "u1", Annotations: map[string]string{podnet.Annotation: sel}}}
	ta := newTestAgent(t, "10.50.0.0/24", interceptor.Funcs{}, p)
	pod := ta.env.NS("pod")
	if err := ta.call("ADD", "c1", pod, seedConfig); err != nil {
		t.Fatalf("ADD: %v", err)
	}
	if atts, _ := ta.state(t); !slices.Equal(atts, []string{"red-10-50-0-9 02:00:00:00:00:42"}) {
		t.Errorf("attachments %v", atts)
	}
	if mac := podMAC(t, pod); mac != "02:00:00:00:00:42" {
		t.Errorf("pod MAC %s, want the annotation's", mac)
	}
	if err := ta.call("CHECK", "c1", pod, seedConfig); err != nil {
		t.Errorf("CHECK: %v", err)
	}
}

// TestAddRollback: whichever half of ADD fails (the allocation, the link,
// the addresses), the node is left with no attachment and no interface.
func TestAddRollback(t *testing.T) {
	refuse := interceptor.Funcs{Create: func(context.Context, client.WithWatch, client.Object, ...client.CreateOption) error {
		return errors.New("API server unavailable")
	}}
	for _, tc := range []struct {
		name  string
		cidr  string
		funcs interceptor.Funcs
		netns func(ta *testAgent) *netnstest.NS
		want  string // in the error
	}{
		{"allocation fails", "10.50.0.0/24", refuse, func(ta *testAgent) *netnstest.NS { return ta.env.NS("pod") }, "API server unavailable"},
		{"link fails", "10.50.0.0/24", interceptor.Funcs{}, func(ta *testAgent) *netnstest.NS {
			return &netnstest.NS{Name: "gone", Path: ta.node.Path + "-gone"}
		}, "open network namespace"},
		{"address fails", "fd00:50::/64", interceptor.Funcs{}, func(ta *testAgent) *netnstest.NS {
			ns := ta.env.NS("noipv6")
			if out, err := ns.Exec("sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1", "net.ipv6.conf.default.disable_ipv6=1"); err != nil {
				t.Fatalf("disable IPv6: %v: %s", err, out)
			}
			return ns
		}, "add address"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ta := newTestAgent(t, tc.cidr, tc.funcs)
			pod := tc.netns(ta)
			err := ta.call("ADD", "c1", pod, testConfig)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("ADD: %v, want an error saying %q", err, tc.want)
			}
			if atts, ports := ta.state(t); len(atts)+len(ports) != 0 {
				t.Errorf("after a failed ADD: attachments %v, ports %v", atts, ports)
			}
			if links := linkNames(t, ta.node); slices.ContainsFunc(links, func(n string) bool { return strings.HasPrefix(n, "sb") }) {
				t.Errorf("devices left on the node: %v", links)
			}
			if pod.Name != "gone" {
				if mac := podMAC(t, pod); mac != "" {
					t.Errorf("net1 left in the pod (MAC %s)", mac)
				}
			}
		})
	}
}
