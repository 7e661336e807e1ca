package idco_test

import (
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"

	"switchboard/internal/idco"
	"switchboard/internal/idco/store"
	"switchboard/internal/token"
)

// otherIDCO opens a second Service on the fixture's database through its
// own connections, as a second IDCO process would.
func (f *fixture) otherIDCO() *idco.Service {
	f.t.Helper()
	db, err := store.Open(f.ctx, f.dsn)
	f.must(err)
	f.t.Cleanup(func() { db.Close() })
	return idco.New(db)
}

// TestPolicyChangesReachTheNextDecision checks that a decision made right
// after a change of keys, access lists or permissions follows the change,
// although the previous decision had the old policy in the cache: whether
// the change is made by the same IDCO or by another on the same database.
func TestPolicyChangesReachTheNextDecision(t *testing.T) {
	forEachBackend(t, func(t *testing.T, f *fixture) {
		other := f.otherIDCO()
		for _, w := range []struct {
			name string
			svc  *idco.Service
		}{{"same IDCO", f.svc}, {"other IDCO", other}} {
			t.Run(w.name, func(t *testing.T) {
				ctx := f.ctx
				alice, bob := f.addUser("alice-"+w.name[:4]), f.addUser("bob-"+w.name[:4])
				net := "n-" + w.name[:4]
				open := "o-" + w.name[:4]
				f.register("a", net, 100, alice, bob)
				f.register("a", open, 101)
				f.must(f.svc.Grant(ctx, bob.name, open))
				pod := 0
				decide := func(u *user, network string) idco.Decision {
					pod++
					return f.authorize("a", network, fmt.Sprintf("p%d", pod), f.sign(u, network))
				}
				expect := func(step string, d idco.Decision, allowed bool, reason string) {
					t.Helper()
					if d.Allowed != allowed || d.Reason != reason {
						t.Errorf("%s: decision %+v, want allowed=%v reason %q", step, d, allowed, reason)
					}
				}
				expect("alice before", decide(alice, net), true, "")
				expect("bob before", decide(bob, net), true, "")
				expect("bob on the open network before", decide(bob, open), true, "")

				// The access list loses bob.
				r := idco.Registration{Cluster: "a", Network: net, Namespace: "ns-a", Name: net, LocalVNI: 100,
					AccessList: []idco.AccessEntry{{User: alice.name, PublicKeyPEM: alice.pem}}}
				_, err := w.svc.RegisterNetwork(ctx, r)
				f.must(err)
				expect("bob after leaving the access list", decide(bob, net), false, idco.ReasonNotInAccessList)

				// And gets back in.
				r.AccessList = append(r.AccessList, idco.AccessEntry{User: bob.name, PublicKeyPEM: bob.pem})
				_, err = w.svc.RegisterNetwork(ctx, r)
				f.must(err)
				expect("bob back on the access list", decide(bob, net), true, "")

				// Bob's permission on the open network goes.
				f.must(w.svc.RevokePermission(ctx, bob.name, open))
				expect("bob after losing the permission", decide(bob, open), false, idco.ReasonNoPermission)
				f.must(w.svc.Grant(ctx, bob.name, open))
				expect("bob granted again", decide(bob, open), true, "")

				// Alice's key is revoked.
				f.must(w.svc.RevokeKey(ctx, alice.fp))
				expect("alice after her key was revoked", decide(alice, net), false, string(token.ReasonRevokedKey))

				// Alice's new key: unknown, then added.
				fresh := f.newKey(alice.name)
				expect("alice's new key before it is added", decide(fresh, net), false, string(token.ReasonForged))
				_, err = w.svc.AddKey(ctx, alice.name, []byte(fresh.pem))
				f.must(err)
				r.AccessList = append(r.AccessList, idco.AccessEntry{User: alice.name, PublicKeyPEM: fresh.pem})
				_, err = w.svc.RegisterNetwork(ctx, r)
				f.must(err)
				expect("alice's new key once added", decide(fresh, net), true, "")

				// The network is deregistered in the requesting cluster.
				f.must(w.svc.DeregisterNetwork(ctx, idco.Deregistration{Cluster: "a", Network: net}))
				expect("after deregistration", decide(fresh, net), false, idco.ReasonNotRegistered)
			})
		}
	})
}

// TestRevokeKeyDuringDecisions revokes a key through one IDCO while two
// IDCOs on the same database keep deciding with it: once RevokeKey has
// returned, no decision that starts may allow the key, and once every
// decision has returned, no authorization made with the key is active
// (one decided on the old policy but committed after the revocation's
// sweep would be).
func TestRevokeKeyDuringDecisions(t *testing.T) {
	forEachBackend(t, func(t *testing.T, f *fixture) {
		alice := f.addUser("alice")
		f.register("a", "n", 100, alice)
		raw := f.sign(alice, "n")
		svcs := []*idco.Service{f.svc, f.otherIDCO()}
		var revoked atomic.Bool
		var n atomic.Int64
		var wrong, allowed atomic.Int64
		stop := make(chan struct{})
		var wg sync.WaitGroup
		for g := 0; g < 6; g++ {
			wg.Add(1)
			go func(svc *idco.Service) {
				defer wg.Done()
				for {
					select {
					case <-stop:
						return
					default:
					}
					after := revoked.Load()
					d, err := svc.Authorize(f.ctx, idco.AuthorizeRequest{Cluster: "a", Network: "n", Namespace: "default",
						Pod: fmt.Sprintf("p%d", n.Add(1)), Token: raw})
					if err != nil {
						t.Errorf("authorize: %v", err)
						return
					}
					if d.Allowed {
						allowed.Add(1)
						if after {
							wrong.Add(1)
						}
					}
				}
			}(svcs[g%2])
		}
		// Let some decisions be allowed first: the cache then holds the key.
		for allowed.Load() < 20 && !t.Failed() {
			runtimeYield()
		}
		f.must(svcs[1].RevokeKey(f.ctx, alice.fp))
		revoked.Store(true)
		for before := n.Load(); n.Load() < before+40 && !t.Failed(); {
			runtimeYield()
		}
		close(stop)
		wg.Wait()
		if wrong.Load() != 0 {
			t.Errorf("%d decisions started after RevokeKey returned allowed the revoked key", wrong.Load())
		}
		l, err := f.svc.Authorizations(f.ctx, "a", 0, 0)
		f.must(err)
		for _, a := range l.Active {
			if a.KeyID == alice.fp {
				t.Errorf("authorization %s made with the revoked key is still active", a.ID)
			}
		}
		t.Logf("%d decisions, %d allowed", n.Load(), allowed.Load())
	})
}

func runtimeYield() { runtime.Gosched() }
