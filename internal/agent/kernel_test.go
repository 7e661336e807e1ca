package agent

import (
	"context"
	"net/netip"
	"slices"
	"testing"

	"github.com/go-logr/logr"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/tools/record"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"

	sbv1 "switchboard/api/v1alpha1"
	"switchboard/internal/dataplane"
	"switchboard/internal/netnstest"
)

// The kernel tier of the agent: its CNI handling against a fake API and a
// real data plane in a throwaway node namespace, with pod namespaces.

const (
	testNode = "n1"
	testVNI  = 4100
)

type testAgent struct {
	*Agent
	env  *netnstest.Env
	node *netnstest.NS
	k8s  client.Client
}

// newTestAgent returns an agent on node namespace "node" whose data plane
// knows the underlay, with network t1/red (cidr) and objs in its fake API.
func newTestAgent(t testing.TB, cidr string, funcs interceptor.Funcs, objs ...client.Object) *testAgent {
	t.Helper()
	return newTestAgentIn(t, netnstest.NewPrefixed(t, "sbag"), cidr, funcs, objs...)
}

// newTestAgentIn is newTestAgent with the namespaces made by env.
func newTestAgentIn(t testing.TB, env *netnstest.Env, cidr string, funcs interceptor.Funcs, objs ...client.Object) *testAgent {
	t.Helper()
	node := env.NS("node")
	netnstest.Veth(t, netnstest.End{NS: node, Name: "ul0", Addr: netip.MustParsePrefix("198.18.250.1/24")}, netnstest.End{NS: node, Name: "ul1"})
	dp, err := dataplane.New(dataplane.WithNetNS(node.Path))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { dp.Close() })
	base := dataplane.Config{Underlay: "ul0", LocalIP: netip.MustParseAddr("198.18.250.1")}
	if err := dp.Set(base); err != nil {
		t.Fatal(err)
	}
	scheme := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	if err := sbv1.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	n := net1("t1", "red", testVNI, 0)
	n.Spec.IPAM = &sbv1.IPAM{CIDR: cidr}
	k8s := fake.NewClientBuilder().WithScheme(scheme).WithObjects(append(objs, &n)...).WithInterceptorFuncs(funcs).Build()
	a := &Agent{
		opts: Options{NodeName: testNode, NodeIP: base.LocalIP}, log: logr.Discard(),
		client: k8s, cache: k8s, apiReader: k8s, recorder: record.NewFakeRecorder(100),
		dp: dp, base: base, metrics: newMetrics(), recent: newRecentWrites(),
	}
	return &testAgent{Agent: a, env: env, node: node, k8s: k8s}
}

// state is what the node holds: attachments (name and MAC) and pod ports.
func (ta *testAgent) state(t *testing.T) (atts []string, ports []string) {
	t.Helper()
	var list sbv1.AttachmentList
	if err := ta.k8s.List(context.Background(), &list); err != nil {
		t.Fatal(err)
	}
	for _, at := range list.Items {
		atts = append(atts, at.Name+" "+at.Spec.MAC)
	}
	p, err := ta.dp.PodPorts()
	if err != nil {
		t.Fatal(err)
	}
	for name := range p {
		ports = append(ports, name)
	}
	slices.Sort(atts)
	slices.Sort(ports)
	return atts, ports
}
