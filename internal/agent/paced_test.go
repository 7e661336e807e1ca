package agent

import (
	"context"
	"testing"
	"time"

	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"

	"switchboard/internal/netnstest"
)

// TestPacedSync: the data-plane loop converges at most once per
// minSyncInterval; within it, an event is only put off (a requeue no later
// than the interval's end), and after it the loop converges at once.
func TestPacedSync(t *testing.T) {
	ta := newTestAgentIn(t, netnstest.NewPrefixed(t, "sbcp"), "10.50.0.0/24", interceptor.Funcs{})
	ctx := context.Background()

	ta.lastSync.Store(time.Now().Add(time.Hour).UnixNano()) // a sync has "just" ended, whatever the machine's speed
	res, err := ta.pacedSync(ctx, syncKey)
	if err != nil || res.RequeueAfter <= 0 || res.RequeueAfter > minSyncInterval+time.Hour {
		t.Fatalf("within the interval: %+v, %v; want a requeue at the interval's end", res, err)
	}
	if ta.synced.Load() {
		t.Fatal("within the interval the data plane was converged")
	}

	ta.lastSync.Store(time.Now().Add(-time.Hour).UnixNano())
	res, err = ta.pacedSync(ctx, syncKey)
	if err != nil || !ta.synced.Load() {
		t.Fatalf("after the interval: %+v, %v; want a convergence", res, err)
	}
	if res.RequeueAfter <= minSyncInterval { // the resync, not the pacing
		t.Errorf("after a convergence: requeue in %s, want the resync period", res.RequeueAfter)
	}
	if since := time.Since(time.Unix(0, ta.lastSync.Load())); since < 0 || since > time.Hour {
		t.Errorf("the convergence did not record its end (%s ago)", since)
	}
}
