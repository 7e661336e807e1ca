package portal_test

import (
	"database/sql"
	"fmt"
	"net/http"
	"testing"
	"time"

	"switchboard/internal/idco"
	"switchboard/internal/idco/pki"
	"switchboard/internal/idco/store/storetest"
)

// BenchmarkPortalPage measures loading the portal's authorization and
// audit pages over HTTPS with 10,000 active authorizations and 10,000
// audit entries, against the bare store queries in the same run: the
// page's own query (one page of 50) and listing all active authorizations
// (what a page without paging would read).
func BenchmarkPortalPage(b *testing.B) {
	for _, be := range storetest.Backends(b) {
		b.Run(be.Name, func(b *testing.B) {
			dsn := be.NewDSN(b)
			f := newFixtureOn(b, dsn)
			fill(f)
			if be.Name == "postgres" {
				analyze(b, dsn)
			}
			benchmarkPages(b, f)
		})
	}
}

// analyze refreshes PostgreSQL's statistics after the bulk insert, as
// autovacuum does within a minute on a running IDCO: without them the
// planner guesses and the figures measure the guess.
func analyze(b *testing.B, dsn string) {
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec("ANALYZE"); err != nil {
		b.Fatal(err)
	}
}

// benchRows is how many authorizations and audit entries fill does add.
const benchRows = 10000

// fill adds benchRows active authorizations on blue and as many audit
// entries (a tenth of them refusals).
func fill(f *fixture) {
	const n = benchRows
	now := time.Now()
	as := make([]idco.Authorization, n)
	es := make([]idco.AuditEntry, n)
	for i := range as {
		as[i] = idco.Authorization{ID: fmt.Sprintf("az-bench-%05d", i), Network: "blue", Cluster: "east", Namespace: "default",
			Pod: fmt.Sprintf("pod-%05d", i), User: "carol", KeyID: f.fps["carol"], Nonce: fmt.Sprintf("n%d", i),
			CreatedAt: now.Add(time.Duration(i) * time.Millisecond), Expires: now.Add(time.Hour)}
		es[i] = idco.AuditEntry{At: now, Actor: "cluster/east", Action: "authorize", Network: "blue", Cluster: "east", User: "carol",
			Subject: as[i].Namespace + "/" + as[i].Pod, Allowed: i%10 != 0, Reason: map[bool]string{true: "", false: "NotInAccessList"}[i%10 != 0]}
	}
	f.insert(as)
	f.must(f.db.Update(f.ctx, func(tx idco.Tx) error { return tx.AppendAudit(f.ctx, es...) }))
}

func benchmarkPages(b *testing.B, f *fixture) {
	const n = benchRows
	page, err := f.svc.AuthorizationPage(f.ctx, idco.AuthorizationQuery{Limit: idco.MaxPageSize})
	f.must(err)
	alice := f.login("alice")
	admin := f.certBrowser(f.certificate(pkiAdmin))
	if st, _ := admin.get("/portal/login/certificate"); st != http.StatusSeeOther {
		b.Fatalf("admin login: %d", st)
	}
	mid := page[len(page)-1] // 500 rows down; keyset pages cost the same at any depth
	deep := "/portal/authorizations?after=" + fmt.Sprint(mid.CreatedAt.UnixNano()) + "~" + mid.ID

	b.Run("store/page-of-50", func(b *testing.B) {
		for b.Loop() {
			if as, err := f.svc.AuthorizationPage(f.ctx, idco.AuthorizationQuery{}); err != nil || len(as) != idco.DefaultPageSize {
				b.Fatalf("%d, %v", len(as), err)
			}
		}
	})
	b.Run("store/all-active", func(b *testing.B) {
		for b.Loop() {
			var got []idco.Authorization
			err := f.db.View(f.ctx, func(tx idco.Tx) (err error) {
				got, err = tx.ActiveAuthorizations(f.ctx, idco.ActiveFilter{})
				return err
			})
			if err != nil || len(got) < n {
				b.Fatalf("%d, %v", len(got), err)
			}
		}
	})
	for _, tc := range []struct {
		name string
		who  *browser
		path string
	}{
		{"page/authorizations/admin", admin, "/portal/authorizations"},
		{"page/authorizations/owner", alice, "/portal/authorizations"},
		{"page/authorizations/owner-after-500", alice, deep},
		{"page/refused/owner", alice, "/portal/refused"},
		{"page/audit/owner", alice, "/portal/audit"},
	} {
		b.Run(tc.name, func(b *testing.B) {
			for b.Loop() {
				if st, _ := tc.who.get(tc.path); st != http.StatusOK {
					b.Fatalf("GET %s: %d", tc.path, st)
				}
			}
		})
	}
}

var pkiAdmin = pki.Identity{Admin: "root"}
