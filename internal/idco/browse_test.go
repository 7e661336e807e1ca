package idco_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"switchboard/internal/idco"
)

// TestAuthorizationPage pages through an owner's authorizations on few
// networks (read per network and merged) and on many (one store query),
// and through everyone's: every active row once, newest first, nothing of
// networks the owner does not own, the ended ones apart.
func TestAuthorizationPage(t *testing.T) {
	forEachBackend(t, func(t *testing.T, f *fixture) {
		f.addUser("few")
		f.addUser("many")
		now := time.Now().UTC()
		var as []idco.Authorization
		for i := range 60 {
			n := fmt.Sprintf("net-%02d", i%40)
			as = append(as, idco.Authorization{ID: fmt.Sprintf("az-%03d", i), Network: n, Cluster: "c", Namespace: "default",
				Pod: fmt.Sprintf("p%d", i), User: "u", KeyID: "k", Nonce: fmt.Sprintf("n%d", i),
				CreatedAt: now.Add(time.Duration(i%7) * time.Second), Expires: now.Add(time.Hour)})
			if i%10 == 9 {
				t := now
				as[i].RevokedAt, as[i].RevokedReason = &t, "Released"
			}
		}
		f.must(f.db.Update(f.ctx, func(tx idco.Tx) error {
			for i := range 40 {
				if _, err := tx.CreateNetwork(f.ctx, fmt.Sprintf("net-%02d", i), 1, 1000, now); err != nil {
					return err
				}
			}
			if err := tx.EnsureCluster(f.ctx, "c", now); err != nil {
				return err
			}
			return tx.InsertAuthorization(f.ctx, as...)
		}))
		for i := 1; i < 40; i++ { // all but net-00
			f.must(f.svc.AddOwner(f.ctx, "many", fmt.Sprintf("net-%02d", i)))
		}
		f.must(f.svc.AddOwner(f.ctx, "few", "net-01"))
		f.must(f.svc.AddOwner(f.ctx, "few", "net-02"))

		want := func(keep func(idco.Authorization) bool) []string {
			var ids []string
			sorted := slices.Clone(as)
			slices.SortFunc(sorted, func(a, b idco.Authorization) int {
				if c := b.CreatedAt.Compare(a.CreatedAt); c != 0 {
					return c
				}
				return strings.Compare(b.ID, a.ID)
			})
			for _, a := range sorted {
				if keep(a) {
					ids = append(ids, a.ID)
				}
			}
			return ids
		}
		walk := func(q idco.AuthorizationQuery) []string {
			var ids []string
			q.Limit = 7
			for {
				page, err := f.svc.AuthorizationPage(f.ctx, q)
				f.must(err)
				for _, a := range page {
					ids = append(ids, a.ID)
				}
				if len(page) < q.Limit {
					return ids
				}
				if len(ids) > len(as) {
					t.Fatalf("paging %+v does not end: %v", q, ids)
				}
				q.After = idco.CursorOf(page[len(page)-1])
			}
		}
		active := func(a idco.Authorization) bool { return a.RevokedAt == nil }
		for _, tc := range []struct {
			name string
			q    idco.AuthorizationQuery
			keep func(idco.Authorization) bool
		}{
			{"everyone", idco.AuthorizationQuery{}, active},
			{"ended", idco.AuthorizationQuery{Ended: true}, func(a idco.Authorization) bool { return a.RevokedAt != nil }},
			{"owner of 2 (merged)", idco.AuthorizationQuery{Owner: "few"}, func(a idco.Authorization) bool {
				return active(a) && (a.Network == "net-01" || a.Network == "net-02")
			}},
			{"owner of 39 (one query)", idco.AuthorizationQuery{Owner: "many"}, func(a idco.Authorization) bool {
				return active(a) && a.Network != "net-00"
			}},
			{"owner and network", idco.AuthorizationQuery{Owner: "few", Network: "net-02"}, func(a idco.Authorization) bool {
				return active(a) && a.Network == "net-02"
			}},
			{"owner of nothing", idco.AuthorizationQuery{Owner: "alice-owns-nothing"}, func(idco.Authorization) bool { return false }},
		} {
			if got, w := walk(tc.q), want(tc.keep); !slices.Equal(got, w) {
				t.Errorf("%s: walked %v, want %v", tc.name, got, w)
			}
		}
	})
}

// TestAuditPages filters the audit log by owner, action and refusal, a
// page at a time by ID.
func TestAuditPages(t *testing.T) {
	forEachBackend(t, func(t *testing.T, f *fixture) {
		f.addUser("olive")
		f.must(f.svc.AddOwner(f.ctx, "olive", "mine"))
		now := time.Now().UTC()
		var es []idco.AuditEntry
		for i := range 30 {
			es = append(es, idco.AuditEntry{At: now, Actor: "cluster/c", Action: []string{"authorize", "grant"}[i%2],
				Network: []string{"mine", "theirs", "mine"}[i%3], Subject: fmt.Sprint(i), Allowed: i%5 != 0})
		}
		f.must(f.db.Update(f.ctx, func(tx idco.Tx) error { return tx.AppendAudit(f.ctx, es...) }))
		walk := func(filter idco.AuditFilter) []string {
			var got []string
			filter.Limit = 4
			for {
				page, err := f.svc.Audit(f.ctx, filter)
				f.must(err)
				for _, e := range page {
					if e.Actor == "cluster/c" {
						got = append(got, e.Subject)
					}
				}
				if len(page) < filter.Limit {
					return got
				}
				if len(got) > len(es) {
					t.Fatalf("paging %+v does not end", filter)
				}
				filter.BeforeID = page[len(page)-1].ID
			}
		}
		want := func(keep func(i int) bool) []string {
			var out []string
			for i := 29; i >= 0; i-- {
				if keep(i) {
					out = append(out, fmt.Sprint(i))
				}
			}
			return out
		}
		mine := func(i int) bool { return i%3 != 1 }
		refusedAuthorize := func(i int) bool { return i%2 == 0 && i%5 == 0 }
		for _, tc := range []struct {
			name   string
			filter idco.AuditFilter
			keep   func(int) bool
		}{
			{"all", idco.AuditFilter{}, func(int) bool { return true }},
			{"owner", idco.AuditFilter{Owner: "olive"}, mine},
			{"refused authorize", idco.AuditFilter{Action: "authorize", Refused: true}, refusedAuthorize},
			{"owner's refused authorize", idco.AuditFilter{Owner: "olive", Action: "authorize", Refused: true}, func(i int) bool {
				return mine(i) && refusedAuthorize(i)
			}},
		} {
			if got, w := walk(tc.filter), want(tc.keep); !slices.Equal(got, w) {
				t.Errorf("%s: walked %v, want %v", tc.name, got, w)
			}
		}
	})
}
