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
			if v, err := s.SchemaVersion(ctx); err != nil || v != 5 {
				t.Errorf("schema version %d, %v; want 5", v, err)
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

// TestDeleteRegistration: deleting one cluster's registration takes its
// access list with it and leaves the other clusters' and the network.
func TestDeleteRegistration(t *testing.T) {
	for _, b := range storetest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			ctx := context.Background()
			s, err := store.Open(ctx, b.NewDSN(t))
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			now := time.Unix(1700000000, 0).UTC()
			reg := func(cluster, user string) idco.Registration {
				return idco.Registration{Network: "n", Cluster: cluster, Namespace: "ns", Name: "n", LocalVNI: 10,
					AccessList: []idco.AccessEntry{{User: user, PublicKeyPEM: "pem-" + user, Fingerprint: "fp-" + user}},
					Edge:       idco.EdgeAttachment{Node: cluster + "-node1", Interface: "sbn10"}, UpdatedAt: now}
			}
			err = s.Update(ctx, func(tx idco.Tx) error {
				if _, err := tx.CreateNetwork(ctx, "n", 100, 200, now); err != nil {
					return err
				}
				for _, c := range []string{"a", "b"} {
					if err := tx.EnsureCluster(ctx, c, now); err != nil {
						return err
					}
					if err := tx.PutRegistration(ctx, reg(c, "user-"+c)); err != nil {
						return err
					}
				}
				for i, want := range []bool{true, false} {
					if had, err := tx.DeleteRegistration(ctx, "n", "a"); err != nil || had != want {
						t.Errorf("DeleteRegistration #%d = %v, %v; want %v", i+1, had, err, want)
					}
				}
				if had, err := tx.DeleteRegistration(ctx, "unknown", "a"); err != nil || had {
					t.Errorf("DeleteRegistration of an unknown network = %v, %v; want false", had, err)
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			err = s.View(ctx, func(tx idco.Tx) error {
				regs, err := tx.Registrations(ctx, "n")
				if err != nil {
					return err
				}
				if len(regs) != 1 || regs[0].Cluster != "b" || len(regs[0].AccessList) != 1 || regs[0].AccessList[0].User != "user-b" || regs[0].Edge.Node != "b-node1" {
					t.Errorf("registrations of n = %+v, want b's alone, with its access list and edge", regs)
				}
				if regs, err := tx.ClusterRegistrations(ctx, "a"); err != nil || len(regs) != 0 {
					t.Errorf("cluster a's registrations = %+v, %v; want none", regs, err)
				}
				if _, err := tx.Network(ctx, "n"); err != nil {
					t.Errorf("network n after deleting a registration: %v, want it kept", err)
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			// The cluster registers again: nothing of the old list is left.
			err = s.Update(ctx, func(tx idco.Tx) error {
				r := reg("a", "user-c")
				if err := tx.PutRegistration(ctx, r); err != nil {
					return err
				}
				regs, err := tx.ClusterRegistrations(ctx, "a")
				if err != nil {
					return err
				}
				if len(regs) != 1 || len(regs[0].AccessList) != 1 || regs[0].AccessList[0].User != "user-c" {
					t.Errorf("cluster a registered again = %+v, want only user-c on its list", regs)
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
		})
	}
}
