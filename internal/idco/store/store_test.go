package store_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"switchboard/internal/idco"
	"switchboard/internal/idco/store"
	"switchboard/internal/idco/store/storetest"
)

func TestParseDSNErrors(t *testing.T) {
	for _, dsn := range []string{"", "mysql://x", "sqlite://"} {
		if _, err := store.Open(context.Background(), dsn); err == nil {
			t.Errorf("Open(%q) succeeded, want an error", dsn)
		}
	}
}

func TestStore(t *testing.T) {
	for _, b := range storetest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			ctx := context.Background()
			dsn := b.NewDSN(t)
			s, err := store.Open(ctx, dsn)
			if err != nil {
				t.Fatal(err)
			}
			if s.Dialect() != b.Name {
				t.Errorf("dialect %q, want %q", s.Dialect(), b.Name)
			}
			now := time.Unix(1700000000, 123456789).UTC()
			err = s.Update(ctx, func(tx idco.Tx) error {
				for _, name := range []string{"a", "b", "c"} {
					if _, err := tx.CreateNetwork(ctx, name, 100, 102, now); err != nil {
						return err
					}
				}
				if _, err := tx.CreateNetwork(ctx, "d", 100, 102, now); !errors.Is(err, idco.ErrConflict) {
					t.Errorf("fourth network in a three-VNI range: err %v, want ErrConflict", err)
				}
				if rev, err := tx.BumpRevision(ctx); err != nil || rev != 1 {
					t.Errorf("BumpRevision = %d, %v; want 1", rev, err)
				}
				return tx.AppendAudit(ctx, idco.AuditEntry{At: now, Actor: "admin", Action: "test", Allowed: true})
			})
			if err != nil {
				t.Fatal(err)
			}
			s.Close()
			// Reopen: migrations are not applied twice and data stays.
			s, err = store.Open(ctx, dsn)
			if err != nil {
				t.Fatalf("reopen: %v", err)
			}
			defer s.Close()
			if v, err := s.SchemaVersion(ctx); err != nil || v != 2 {
				t.Errorf("schema version %d, %v; want 2", v, err)
			}
			err = s.View(ctx, func(tx idco.Tx) error {
				n, err := tx.Network(ctx, "c")
				if err != nil {
					return err
				}
				if n.VNI != 102 || !n.CreatedAt.Equal(now) {
					t.Errorf("network c = %+v, want VNI 102 created %v", n, now)
				}
				if _, err := tx.Network(ctx, "zz"); !errors.Is(err, idco.ErrNotFound) {
					t.Errorf("missing network: err %v, want ErrNotFound", err)
				}
				es, err := tx.Audit(ctx, idco.AuditFilter{})
				if err != nil || len(es) != 1 || !es[0].Allowed {
					t.Errorf("audit = %+v, %v; want one allowed entry", es, err)
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
		})
	}
}
