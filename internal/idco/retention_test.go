package idco_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"switchboard/internal/idco"
	"switchboard/internal/token"
)

// TestRetention: a sweep exports and then deletes the audit entries and the
// ended authorizations older than the retention, keeps the recent ones and
// every active authorization, and a second sweep finds nothing.
func TestRetention(t *testing.T) {
	forEachBackend(t, func(t *testing.T, f *fixture) {
		now := time.Now().UTC()
		clock := now.Add(-48 * time.Hour)
		svc := idco.New(f.db, idco.WithClock(func() time.Time { return clock }))
		f.svc = svc
		alice := f.addUser("alice")
		f.register("a", "n", 100, alice)
		raw := f.sign(alice, "n", func(c *token.Claims) { c.IssuedAt = clock.Add(-time.Minute) })
		oldEnded := f.authorize("a", "n", "old-ended", raw)
		oldActive := f.authorize("a", "n", "old-active", raw)
		if !oldEnded.Allowed || !oldActive.Allowed {
			t.Fatalf("setup decisions refused: %+v %+v", oldEnded, oldActive)
		}
		f.must(svc.Release(f.ctx, "a", oldEnded.AuthorizationID))
		// More old audit entries than one sweep batch holds.
		filler := make([]idco.AuditEntry, 1500)
		for i := range filler {
			filler[i] = idco.AuditEntry{At: clock, Actor: "test", Action: "filler", Subject: fmt.Sprint(i), Allowed: true}
		}
		f.must(f.db.Update(f.ctx, func(tx idco.Tx) error { return tx.AppendAudit(f.ctx, filler...) }))
		if es := f.audits("filler"); len(es) != 1000 || es[0].Subject != "1499" || es[999].Subject != "500" {
			t.Fatalf("filler audit entries, newest first: %d, want 1000 from 1499 down to 500", len(es))
		}
		oldAudit := len(f.audits("filler")) // Audit's limit: at most 1000
		if oldAudit == 0 {
			t.Fatal("no filler audit entries")
		}

		clock = now
		newEnded := f.authorize("a", "n", "new-ended", raw)
		f.must(svc.Release(f.ctx, "a", newEnded.AuthorizationID))
		before := countAudit(t, f)

		// An export that fails deletes nothing.
		bad := idco.JSONLines{Path: filepath.Join(t.TempDir(), "missing", "export.jsonl")}
		if _, err := svc.Sweep(f.ctx, idco.Retention{Audit: 24 * time.Hour, EndedAuthorizations: 24 * time.Hour, Export: bad}); err == nil {
			t.Error("sweep with an export into a missing directory succeeded, want an error")
		}
		if n := countAudit(t, f); n != before {
			t.Fatalf("failed export: audit log %d -> %d entries, want nothing deleted", before, n)
		}

		dir := t.TempDir()
		r := idco.Retention{Audit: 24 * time.Hour, EndedAuthorizations: 24 * time.Hour,
			Export: idco.JSONLines{Path: dir, Now: func() time.Time { return now }}}
		res, err := svc.Sweep(f.ctx, r)
		f.must(err)
		if res.Authorizations != 1 {
			t.Errorf("sweep deleted %d ended authorizations, want 1 (the old ended one)", res.Authorizations)
		}
		after := countAudit(t, f)
		if res.Audit < 1500 || before-after != res.Audit {
			t.Errorf("sweep deleted %d audit entries (log %d -> %d), want the 1500 fillers and the old decisions", res.Audit, before, after)
		}

		// The export holds exactly what was deleted.
		lines := readExport(t, filepath.Join(dir, "idco-export-"+now.Format("2006-01-02")+".jsonl"))
		var audits, authzs int
		for _, l := range lines {
			switch {
			case l.Kind == "audit" && l.Audit != nil && l.Audit.At.Before(now.Add(-24*time.Hour)):
				audits++
			case l.Kind == "authorization" && l.Authorization != nil && l.Authorization.ID == oldEnded.AuthorizationID:
				authzs++
			default:
				t.Errorf("unexpected export line %+v", l)
			}
		}
		if audits != res.Audit || authzs != 1 {
			t.Errorf("export has %d old audit entries and %d ended authorizations, want %d and 1", audits, authzs, res.Audit)
		}

		// What stays: the active authorization, however old, the recent
		// ended one and the recent audit entries.
		l, err := svc.Authorizations(f.ctx, "a", 1, 0)
		f.must(err)
		if len(l.Active) != 1 || l.Active[0].ID != oldActive.AuthorizationID {
			t.Errorf("active after the sweep: %+v, want only the old active one", l.Active)
		}
		for _, a := range l.Revoked {
			if a.ID == oldEnded.AuthorizationID {
				t.Errorf("old ended authorization %s is still stored", a.ID)
			}
		}
		if len(l.Revoked) != 1 || l.Revoked[0].ID != newEnded.AuthorizationID {
			t.Errorf("ended after the sweep: %+v, want only the recent one", l.Revoked)
		}
		if len(f.audits("filler")) != 0 || len(f.audits("authorize")) != 1 {
			t.Errorf("after the sweep: %d filler and %d authorize audit entries, want 0 and 1 (the recent one)",
				len(f.audits("filler")), len(f.audits("authorize")))
		}

		// A second sweep, into a file, finds nothing to do.
		file := filepath.Join(t.TempDir(), "export.jsonl")
		res, err = svc.Sweep(f.ctx, idco.Retention{Audit: 24 * time.Hour, EndedAuthorizations: 24 * time.Hour, Export: idco.JSONLines{Path: file}})
		f.must(err)
		if res.Audit != 0 || res.Authorizations != 0 {
			t.Errorf("second sweep deleted %+v, want nothing", res)
		}
		if _, err := os.Stat(file); !os.IsNotExist(err) {
			t.Errorf("second sweep wrote %s (%v), want no file", file, err)
		}
		// Without an exporter too.
		if res, err := svc.Sweep(f.ctx, idco.Retention{Audit: time.Hour, EndedAuthorizations: time.Hour}); err != nil || res.Audit+res.Authorizations != 0 {
			t.Errorf("sweep without export: %+v, %v; want nothing deleted", res, err)
		}
	})
}

// countAudit counts the whole audit log.
func countAudit(t *testing.T, f *fixture) int {
	t.Helper()
	n := 0
	f.must(f.db.View(f.ctx, func(tx idco.Tx) error {
		es, err := tx.AuditBefore(f.ctx, time.Now().Add(time.Hour), 1_000_000)
		n = len(es)
		return err
	}))
	return n
}

func readExport(t *testing.T, name string) []idco.ExportLine {
	t.Helper()
	fh, err := os.Open(name)
	if err != nil {
		t.Fatalf("open export: %v", err)
	}
	defer fh.Close()
	if st, _ := fh.Stat(); st.Mode().Perm() != 0o600 {
		t.Errorf("export file mode %v, want 0600", st.Mode().Perm())
	}
	var out []idco.ExportLine
	sc := bufio.NewScanner(fh)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var l idco.ExportLine
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			t.Fatalf("export line %q: %v", sc.Text(), err)
		}
		out = append(out, l)
	}
	return out
}

// TestRunRetention: the loop sweeps at start, passes the outcome to observe
// and logs one line per sweep.
func TestRunRetention(t *testing.T) {
	forEachBackend(t, func(t *testing.T, f *fixture) {
		var logs bytes.Buffer
		var mu sync.Mutex
		svc := idco.New(f.db, idco.WithLogger(slog.New(slog.NewTextHandler(lockedWriter{&mu, &logs}, nil))))
		f.must(f.db.Update(f.ctx, func(tx idco.Tx) error {
			return tx.AppendAudit(f.ctx, idco.AuditEntry{At: time.Now().Add(-48 * time.Hour), Actor: "test", Action: "old", Allowed: true})
		}))
		ctx, cancel := context.WithCancel(f.ctx)
		defer cancel()
		got := make(chan idco.SweepResult, 1)
		done := make(chan struct{})
		go func() {
			defer close(done)
			svc.RunRetention(ctx, idco.Retention{Audit: 24 * time.Hour, Every: time.Hour}, func(r idco.SweepResult, err error) {
				if err != nil {
					t.Errorf("sweep: %v", err)
				}
				select {
				case got <- r:
				default:
				}
			})
		}()
		r := <-got
		cancel()
		<-done
		if r.Audit != 1 {
			t.Errorf("first sweep deleted %d audit entries, want the old one", r.Audit)
		}
		mu.Lock()
		defer mu.Unlock()
		if n := strings.Count(logs.String(), `msg="retention sweep"`); n != 1 || !strings.Contains(logs.String(), "auditDeleted=1") {
			t.Errorf("log has %d sweep lines, want 1 with auditDeleted=1:\n%s", n, logs.String())
		}
	})
}

type lockedWriter struct {
	mu *sync.Mutex
	w  *bytes.Buffer
}

func (l lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}
