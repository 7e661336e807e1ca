//go:build e2e

package e2e

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"switchboard/internal/lab/kube"
)

// TestNameConflictKeepsHolder: an owner's ext-vnet network with pods in
// both clusters; someone creates an ext-vnet Network of the same name, same
// provider, in another namespace of cluster a, with their own access list.
// The owner's pods keep their authorization and keep reaching each other
// across the clusters throughout; the second Network shows NameConflict
// (condition and Warning event) naming the holder; deleting it changes
// nothing for the owner.
func TestNameConflictKeepsHolder(t *testing.T) {
	ctx := testContext(t, 10*time.Minute)
	a, b := cluster(t, "a"), cluster(t, "b")
	const ns, other, net = "nameowner", "nameintruder", "held-name"
	alice, mallory := newUser(t, ctx, "alice-held"), newUser(t, ctx, "mallory-held")
	alice.register(t, ctx)
	mallory.register(t, ctx)
	setupNetworks(t, ctx, a, ns, extNetwork(ns, net, clusterRanges["a"], alice.name, alice.pub(t)))
	setupNetworks(t, ctx, b, ns, extNetwork(ns, net, clusterRanges["b"], alice.name, alice.pub(t)))
	secret := alice.secret(t, ctx, ns, "alice-token", net)
	for _, c := range []struct {
		k    *kube.Cluster
		pod  string
		node string
	}{{a, "a1", "a-node2"}, {b, "b1", "b-node2"}} {
		if err := c.k.Apply(ctx, secret+"---\n"+icPod(ns, c.pod, c.node, net, "alice-token")); err != nil {
			t.Fatal(err)
		}
		if err := c.k.WaitPodsReady(ctx, ns, "app=testbox", 3*time.Minute); err != nil {
			t.Fatal(err)
		}
	}
	b1 := strings.Split(netIP(t, ctx, b, ns, "b1", "net1"), "/")[0]
	t.Logf("holder %s/%s ready: a1 pings b1 %s in %v", ns, net, b1, waitPing(t, ctx, a, ns, "a1", b1, time.Minute))

	// The probe pings b1 from a1 until stopped; it counts the answers and
	// the longest run of unanswered pings.
	var (
		mu                       sync.Mutex
		answered, missed, streak int
		worst                    int
	)
	probeCtx, stopProbe := context.WithCancel(ctx)
	probed := make(chan struct{})
	go func() {
		defer close(probed)
		for probeCtx.Err() == nil {
			ok := pingOK(probeCtx, a, ns, "a1", b1)
			if probeCtx.Err() != nil {
				return
			}
			mu.Lock()
			if ok {
				answered, streak = answered+1, 0
			} else {
				missed, streak = missed+1, streak+1
				worst = max(worst, streak)
			}
			mu.Unlock()
			time.Sleep(200 * time.Millisecond)
		}
	}()

	setupNetworks(t, ctx, a, other)
	if err := a.Apply(ctx, extNetwork(other, net, clusterRanges["a"], mallory.name, mallory.pub(t))); err != nil {
		t.Fatal(err)
	}
	msg := waitCondition(t, ctx, a, other, net, "Ready", "NameConflict")
	for _, want := range []string{`cluster "a"`, `namespace "` + ns + `"`, ns + "/" + net} {
		if !strings.Contains(msg, want) {
			t.Errorf("NameConflict message %q does not name %s", msg, want)
		}
	}
	t.Logf("%s/%s: %s", other, net, msg)
	waitEvent(t, ctx, a, other, net, "NameConflict", ns+"/"+net)

	// The refused registration is decided once the condition shows (a
	// takeover used to revoke the owner's pod within seconds of it): the
	// probe goes on for rounds enough to see any cut, counted, not timed.
	rounds := func() int { mu.Lock(); defer mu.Unlock(); return answered + missed }
	moreRounds := func(n int) {
		t.Helper()
		for want := rounds() + n; rounds() < want; time.Sleep(100 * time.Millisecond) {
			if ctx.Err() != nil {
				t.Fatal("the probe did not finish its rounds")
			}
		}
	}
	moreRounds(30)
	if _, err := a.Kubectl(ctx, "", "delete", "network", "-n", other, net, "--wait=true", "--timeout=60s"); err != nil {
		t.Fatalf("delete the second network: %v", err)
	}
	moreRounds(30)
	stopProbe()
	<-probed

	mu.Lock()
	defer mu.Unlock()
	t.Logf("probe a1 -> b1 during the conflict: %d answered, %d unanswered, longest unanswered run %d", answered, missed, worst)
	if answered == 0 || worst > 2 {
		t.Errorf("the holder's traffic was cut during the conflict: %d answered, longest unanswered run %d pings", answered, worst)
	}
	out, err := a.Kubectl(ctx, "", "get", "events", "-n", ns, "--field-selector", "involvedObject.name=a1", "-o", "jsonpath={.items[*].reason}")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(out, "NetworkAccessRevoked") {
		t.Errorf("the holder's pod a1 was revoked: events %s", out)
	}
	cond, err := a.Kubectl(ctx, "", "get", "network", "-n", ns, net, "-o", `jsonpath={.status.conditions[?(@.type=="Ready")].reason}`)
	if err != nil || cond != "Registered" {
		t.Errorf("the holder's Ready reason after the conflict: %q, %v; want Registered", cond, err)
	}
}
