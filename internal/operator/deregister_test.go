package operator_test

import (
	"context"
	"io"
	"net"
	"slices"
	"strings"
	"sync"
	"testing"

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
	es, err := provider.svc.Audit(ctx, idco.AuditFilter{Network: name, Cluster: testCluster})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.ContainsFunc(es, func(e idco.AuditEntry) bool {
		return e.Action == "deregister-network" && e.Actor == "cluster/"+testCluster && strings.HasPrefix(e.Subject, key+" ")
	}) {
		t.Errorf("audit of %s has no deregister-network by cluster/%s: %+v", name, testCluster, es)
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
	ns := needEnv(t)
	name := "down-" + ns[len(ns)-5:]
	px := startProxy(t, provider.domain)
	n := extSpec(ns, name)
	n.Spec.Provider.Domain = px.addr
	create(t, n)
	waitCondition(t, ns, name, v1alpha1.ConditionReady, v1alpha1.ReasonRegistered)

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
	io.Copy(c, u)
	c.Close()
	p.mu.Lock()
	delete(p.conns, c)
	delete(p.conns, u)
	p.mu.Unlock()
}
