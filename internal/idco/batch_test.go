package idco_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"switchboard/internal/idco"
)

// failingStore fails every write transaction while fail is set, after
// its function ran, so that the transaction rolls back.
type failingStore struct {
	idco.Store
	fail atomic.Bool
}

var errInjected = errors.New("injected commit failure")

func (s *failingStore) Update(ctx context.Context, fn func(idco.Tx) error) error {
	return s.Store.Update(ctx, func(tx idco.Tx) error {
		if err := fn(tx); err != nil {
			return err
		}
		if s.fail.Load() {
			return errInjected
		}
		return nil
	})
}

// TestBatchFailureFailsEveryDecision: when a batch's transaction fails,
// every decision in it is answered with an error that says nothing was
// recorded, and nothing was.
func TestBatchFailureFailsEveryDecision(t *testing.T) {
	forEachBackend(t, func(t *testing.T, f *fixture) {
		alice := f.addUser("alice")
		f.register("a", "n", 100, alice)
		raw := f.sign(alice, "n")
		fs := &failingStore{Store: f.db}
		svc := idco.New(fs)
		fs.fail.Store(true)
		var wg sync.WaitGroup
		errs := make([]error, 16)
		for i := range errs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, errs[i] = svc.Authorize(f.ctx, idco.AuthorizeRequest{Cluster: "a", Network: "n", Namespace: "default",
					Pod: fmt.Sprintf("p%d", i), Token: raw})
			}()
		}
		wg.Wait()
		for i, err := range errs {
			if !errors.Is(err, errInjected) || !strings.Contains(err.Error(), "recorded none") {
				t.Errorf("decision %d: err %v, want the commit failure saying no decision of the batch was recorded", i, err)
			}
		}
		l, err := f.svc.Authorizations(f.ctx, "a", 0, 0)
		f.must(err)
		if len(l.Active) != 0 || len(f.audits("authorize")) != 0 {
			t.Errorf("after failed batches: %d active authorizations, %d authorize audit entries; want none", len(l.Active), len(f.audits("authorize")))
		}
		// Once the store works again, so do decisions.
		fs.fail.Store(false)
		d, err := svc.Authorize(f.ctx, idco.AuthorizeRequest{Cluster: "a", Network: "n", Namespace: "default", Pod: "after", Token: raw})
		if err != nil || !d.Allowed {
			t.Fatalf("after the failure: %+v, %v; want allowed", d, err)
		}
	})
}

// TestDecisionDurableWhenAnswered: an answered decision is committed, seen
// by another IDCO on the same database, for every one of many concurrent
// decisions.
func TestDecisionDurableWhenAnswered(t *testing.T) {
	forEachBackend(t, func(t *testing.T, f *fixture) {
		alice := f.addUser("alice")
		f.register("a", "n", 100, alice)
		raw := f.sign(alice, "n")
		other := f.otherIDCO()
		var wg sync.WaitGroup
		for i := 0; i < 24; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				d, err := f.svc.Authorize(f.ctx, idco.AuthorizeRequest{Cluster: "a", Network: "n", Namespace: "default",
					Pod: fmt.Sprintf("p%d", i), Token: raw})
				if err != nil || !d.Allowed {
					t.Errorf("decision %d: %+v, %v", i, d, err)
					return
				}
				l, err := other.Authorizations(f.ctx, "a", 0, 0)
				if err != nil {
					t.Error(err)
					return
				}
				for _, a := range l.Active {
					if a.ID == d.AuthorizationID {
						return
					}
				}
				t.Errorf("decision %d answered with authorization %s, which another IDCO does not see", i, d.AuthorizationID)
			}()
		}
		wg.Wait()
	})
}

// TestSamePodInOneBatch: concurrent decisions for one pod, many of them in
// the same batch, leave exactly one active authorization; each other one
// ended as superseded, in the store and in the audit log.
func TestSamePodInOneBatch(t *testing.T) {
	forEachBackend(t, func(t *testing.T, f *fixture) {
		alice := f.addUser("alice")
		f.register("a", "n", 100, alice)
		raw := f.sign(alice, "n")
		const n = 16
		var wg sync.WaitGroup
		ids := make([]string, n)
		for i := 0; i < n; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				d, err := f.svc.Authorize(f.ctx, idco.AuthorizeRequest{Cluster: "a", Network: "n", Namespace: "default", Pod: "same", Token: raw})
				if err != nil || !d.Allowed {
					t.Errorf("decision %d: %+v, %v", i, d, err)
				}
				ids[i] = d.AuthorizationID
			}()
		}
		wg.Wait()
		l, err := f.svc.Authorizations(f.ctx, "a", 1, 0)
		f.must(err)
		if len(l.Active) != 1 {
			t.Fatalf("%d active authorizations for one pod, want 1: %+v", len(l.Active), l.Active)
		}
		ended := map[string]string{}
		for _, a := range l.Revoked {
			ended[a.ID] = a.RevokedReason
		}
		for _, id := range ids {
			if id != l.Active[0].ID && ended[id] != "Superseded" {
				t.Errorf("authorization %s: ended %q, want Superseded", id, ended[id])
			}
		}
		if got := len(f.audits("revoke-authorization")); got != n-1 {
			t.Errorf("%d revoke-authorization audit entries, want %d", got, n-1)
		}
	})
}
