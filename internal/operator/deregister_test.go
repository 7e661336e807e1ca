package operator_test

import (
	"context"
	"io"
	"net"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"switchboard/api/v1alpha1"
	"switchboard/internal/idco"
	"switchboard/internal/operator"
	"switchboard/internal/token"
)

// registrations lists the test provider's registrations of network as
// "cluster:namespace:user,user ...", one per cluster, by cluster.
func registrations(t *testing.T, network string) []string {
	t.Helper()
	regs, err := provider.svc.Registrations(context.Background(), network)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, r := range regs {
		var users []string
		for _, e := range r.AccessList {
			users = append(users, e.User)
		}
		out = append(out, r.Cluster+":"+r.Namespace+":"+strings.Join(users, ","))
	}
	return out
}

// deleteNetwork deletes the Network ns/name and waits until it is gone,
// then deletes its NetworkAttachmentDefinition, as the garbage collector
// (which envtest does not run) would.
func deleteNetwork(t *testing.T, ns, name string) {
	t.Helper()
	n := network(ns, name, nil)
	if err := k8s.Delete(context.Background(), n); err != nil {
		t.Fatalf("delete network %s/%s: %v", ns, name, err)
	}
	waitGone(t, n)
	nad, err := getNAD(ns, name)
	if err == nil {
		err = k8s.Delete(context.Background(), nad)
	}
	if client.IgnoreNotFound(err) != nil {
		t.Fatalf("delete networkattachmentdefinition %s/%s: %v", ns, name, err)
	}
}

// TestDeletedExtVNetIsDeregistered: deleting an ext-vnet Network removes
// this cluster's side of it at the provider (audited, the pods'
// authorizations ended), so a Network of the same name made later, in
// another namespace or the same one, registers afresh and its own access
// list decides.
func TestDeletedExtVNetIsDeregistered(t *testing.T) {
	ns, name, alice := extSetup(t, "dereg", "alice")
	bob := newUser(t, "bob-"+ns[len(ns)-5:])
	ctx := context.Background()
	if got, want := registrations(t, name), []string{testCluster + ":" + ns + ":" + alice.name}; !slices.Equal(got, want) {
		t.Fatalf("registrations of %s = %v, want %v", name, got, want)
	}
	key := ns + "/" + name
	pod := tokenPod(t, ns, "p", name, token.SecretKeyToken, alice.sign(t, name), false)
	waitDecision(t, pod, key, func(d v1alpha1.NetworkDecision) bool { return d.Allowed })

	deleteNetwork(t, ns, name)
	if got := registrations(t, name); len(got) != 0 {
		t.Errorf("registrations of %s after its Network was deleted = %v, want none", name, got)
	}
	if es := audits(t, name, "deregister-network"); len(es) != 1 || !strings.HasPrefix(es[0].Subject, key+" ") {
		t.Errorf("deregister-network audit entries of %s by cluster/%s = %+v, want one for %s", name, testCluster, es, key)
	}
	waitEvent(t, ns, "Network", name, v1alpha1.ReasonDeregistered)
	d := waitDecision(t, pod, key, func(d v1alpha1.NetworkDecision) bool { return !d.Allowed })
	if d.Reason != idco.ReasonNetworkDeregistered {
		t.Errorf("pod's decision after the deletion = %+v, want refused with %s", d, idco.ReasonNetworkDeregistered)
	}
	// No stale entry decides in the meantime.
	late, err := provider.svc.Authorize(ctx, idco.AuthorizeRequest{Cluster: testCluster, Network: name, Namespace: ns, Pod: "late", Token: alice.sign(t, name)})
	if err != nil || late.Reason != idco.ReasonNotRegistered {
		t.Errorf("a pod of cluster %s after the deletion: %+v, %v; want %s", testCluster, late, err, idco.ReasonNotRegistered)
	}

	ns2 := newNamespace(t)
	extNetwork(t, ns2, name, bob)
	if got, want := registrations(t, name), []string{testCluster + ":" + ns2 + ":" + bob.name}; !slices.Equal(got, want) {
		t.Errorf("registrations of %s after it was made in %s = %v, want %v", name, ns2, got, want)
	}
	bobPod := tokenPod(t, ns2, "b", name, token.SecretKeyToken, bob.sign(t, name), false)
	waitDecision(t, bobPod, ns2+"/"+name, func(d v1alpha1.NetworkDecision) bool { return d.Allowed })
	refused, err := provider.svc.Authorize(ctx, idco.AuthorizeRequest{Cluster: testCluster, Network: name, Namespace: ns2, Pod: "a", Token: alice.sign(t, name)})
	if err != nil || refused.Reason != idco.ReasonNotInAccessList {
		t.Errorf("alice on the new network: %+v, %v; want refused by its access list (%s)", refused, err, idco.ReasonNotInAccessList)
	}

	// Deleted and made again as it was, it registers again: the operator
	// does not trust its memory of the old registration.
	deleteNetwork(t, ns2, name)
	extNetwork(t, ns2, name, bob)
	if got, want := registrations(t, name), []string{testCluster + ":" + ns2 + ":" + bob.name}; !slices.Equal(got, want) {
		t.Errorf("registrations of %s made again in %s = %v, want %v", name, ns2, got, want)
	}
}

// TestExtVNetDeletionWaitsForProvider: with the provider down, deleting an
// ext-vnet Network keeps it (and its finalizer), saying that the provider is
// unreachable and how to force the deletion; once the provider is back the
// Network is deregistered and goes.
func TestExtVNetDeletionWaitsForProvider(t *testing.T) {
	ns, name, px, n := proxiedSetup(t, "down")

	px.down()
	if err := k8s.Delete(context.Background(), n); err != nil {
		t.Fatal(err)
	}
	n = waitCondition(t, ns, name, v1alpha1.ConditionReady, v1alpha1.ReasonDeregistrationFailed)
	msg := condition(n, v1alpha1.ConditionReady).Message
	for _, want := range []string{"unreachable", px.addr, `kubectl patch network ` + name + ` -n ` + ns, "finalizers"} {
		if !strings.Contains(msg, want) {
			t.Errorf("Ready message %q does not say %q", msg, want)
		}
	}
	if !slices.Contains(n.Finalizers, operator.Finalizer) {
		t.Errorf("finalizers %v while the provider is down, want %s kept", n.Finalizers, operator.Finalizer)
	}
	if ev := waitEvent(t, ns, "Network", name, v1alpha1.ReasonDeregistrationFailed); !strings.Contains(ev, "unreachable") {
		t.Errorf("event %q does not say the provider is unreachable", ev)
	}
	if got := registrations(t, name); len(got) != 1 {
		t.Errorf("registrations of %s while the provider is down = %v, want this cluster's kept", name, got)
	}

	px.up()
	waitGone(t, n)
	if got := registrations(t, name); len(got) != 0 {
		t.Errorf("registrations of %s once the provider is back = %v, want none", name, got)
	}
}

// proxiedSetup makes a fresh namespace and, in it, an ext-vnet network
// <prefix>-<suffix> registered with the test provider through a proxy,
// which the test can take down.
func proxiedSetup(t *testing.T, prefix string) (ns, name string, px *proxy, n *v1alpha1.Network) {
	t.Helper()
	ns = needEnv(t)
	name = prefix + "-" + ns[len(ns)-5:]
	px = startProxy(t, provider.domain)
	n = extSpec(ns, name)
	n.Spec.Provider.Domain = px.addr
	create(t, n)
	return ns, name, px, waitCondition(t, ns, name, v1alpha1.ConditionReady, v1alpha1.ReasonRegistered)
}

// proxy forwards TCP connections to target while up. down closes its
// listener and every connection, so that clients are refused as by a
// provider that is down; up listens again on the same address.
type proxy struct {
	t      *testing.T
	addr   string
	target string

	mu    sync.Mutex
	ln    net.Listener // nil while down
	conns map[net.Conn]bool
	// served counts the bytes forwarded from target to the clients.
	served atomic.Int64
}

// open is the number of connections the proxy holds (client and target
// sides of each).
func (p *proxy) open() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.conns)
}

func startProxy(t *testing.T, target string) *proxy {
	t.Helper()
	p := &proxy{t: t, addr: "127.0.0.1:0", target: target, conns: map[net.Conn]bool{}}
	p.up()
	t.Cleanup(p.down)
	return p
}

func (p *proxy) up() {
	p.t.Helper()
	ln, err := net.Listen("tcp", p.addr)
	if err != nil {
		p.t.Fatalf("proxy: listen on %s again: %v", p.addr, err)
	}
	p.mu.Lock()
	p.ln, p.addr = ln, ln.Addr().String()
	p.mu.Unlock()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go p.forward(c)
		}
	}()
}

func (p *proxy) down() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ln != nil {
		p.ln.Close()
		p.ln = nil
	}
	for c := range p.conns {
		c.Close()
	}
	clear(p.conns)
}

func (p *proxy) forward(c net.Conn) {
	u, err := net.Dial("tcp", p.target)
	if err != nil {
		c.Close()
		return
	}
	p.mu.Lock()
	if p.ln == nil { // went down meanwhile
		p.mu.Unlock()
		c.Close()
		u.Close()
		return
	}
	p.conns[c], p.conns[u] = true, true
	p.mu.Unlock()
	go func() { io.Copy(u, c); u.Close() }()
	io.Copy(counting{c, &p.served}, u)
	c.Close()
	p.mu.Lock()
	delete(p.conns, c)
	delete(p.conns, u)
	p.mu.Unlock()
}

// TestExtVNetChangesProvider: a Network whose spec.provider changes
// deregisters from the old provider before it registers with the new one;
// while the old one is down it says so and how to go on without it, which
// works; a Network that is no longer ext-vnet deregisters.
func TestExtVNetChangesProvider(t *testing.T) {
	ns, name, px, n := proxiedSetup(t, "moving")
	if p := n.Status.RegisteredProvider; p == nil || *p != *n.Spec.Provider {
		t.Fatalf("status.registeredProvider = %+v, want %+v", p, n.Spec.Provider)
	}

	// The old provider (the proxy) is down: the move waits, saying how to
	// skip the deregistration; doing so lets it register with the new one.
	px.down()
	direct := v1alpha1.Provider{Name: provider.name, Domain: provider.domain}
	n.Spec.Provider = &direct
	if err := k8s.Update(context.Background(), n); err != nil {
		t.Fatal(err)
	}
	n = waitCondition(t, ns, name, v1alpha1.ConditionReady, v1alpha1.ReasonDeregistrationFailed)
	msg := condition(n, v1alpha1.ConditionReady).Message
	for _, want := range []string{"leaving provider " + provider.name + " for provider " + provider.name, "unreachable", px.addr, `kubectl patch network ` + name + ` -n ` + ns + ` --subresource=status`} {
		if !strings.Contains(msg, want) {
			t.Errorf("Ready message %q does not say %q", msg, want)
		}
	}
	skip := client.RawPatch(types.MergePatchType, []byte(`{"status":{"registeredProvider":null}}`))
	if err := k8s.Status().Patch(context.Background(), n, skip); err != nil {
		t.Fatal(err)
	}
	n = waitCondition(t, ns, name, v1alpha1.ConditionReady, v1alpha1.ReasonRegistered)
	if p := n.Status.RegisteredProvider; p == nil || *p != direct {
		t.Errorf("status.registeredProvider after the move = %+v, want %+v", p, direct)
	}

	// Back with the proxy, then a plain vnet: each move deregisters first.
	px.up()
	n.Spec.Provider.Domain = px.addr
	if err := k8s.Update(context.Background(), n); err != nil {
		t.Fatal(err)
	}
	n = waitCondition(t, ns, name, v1alpha1.ConditionReady, v1alpha1.ReasonRegistered)
	if p := n.Status.RegisteredProvider; p == nil || p.Domain != px.addr {
		t.Errorf("status.registeredProvider after moving back = %+v, want domain %s", p, px.addr)
	}
	before := len(audits(t, name, "deregister-network"))
	n.Spec.Type, n.Spec.Provider = v1alpha1.VNet, nil
	if err := k8s.Update(context.Background(), n); err != nil {
		t.Fatal(err)
	}
	n = waitCondition(t, ns, name, v1alpha1.ConditionReady, v1alpha1.ReasonReady)
	if got := registrations(t, name); len(got) != 0 || n.Status.RegisteredProvider != nil || n.Status.InterClusterVNI != 0 {
		t.Errorf("as a vnet: registrations %v, registeredProvider %+v, inter-cluster VNI %d; want none", got, n.Status.RegisteredProvider, n.Status.InterClusterVNI)
	}
	if after := len(audits(t, name, "deregister-network")); after != before+1 {
		t.Errorf("deregister-network audit entries %d, want %d", after, before+1)
	}
}

// audits returns the test provider's audit entries of action on network by
// this cluster, newest first.
func audits(t *testing.T, network, action string) []idco.AuditEntry {
	t.Helper()
	es, err := provider.svc.Audit(context.Background(), idco.AuditFilter{Network: network, Cluster: testCluster})
	if err != nil {
		t.Fatal(err)
	}
	var out []idco.AuditEntry
	for _, e := range es {
		if e.Action == action && e.Actor == "cluster/"+testCluster {
			out = append(out, e)
		}
	}
	return out
}

// counting is a writer that counts what it writes into n.
type counting struct {
	io.Writer
	n *atomic.Int64
}

func (c counting) Write(b []byte) (int, error) {
	n, err := c.Writer.Write(b)
	c.n.Add(int64(n))
	return n, err
}
