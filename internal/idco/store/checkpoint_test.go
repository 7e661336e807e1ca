package store_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"switchboard/internal/idco"
	"switchboard/internal/idco/store"
)

// TestBackgroundCheckpoint: what is committed reaches the database file
// without the IDCO's connection checkpointing (it does so only past a WAL
// of tens of megabytes) and without closing the store.
func TestBackgroundCheckpoint(t *testing.T) {
	ctx := context.Background()
	file := filepath.Join(t.TempDir(), "idco.db")
	s, err := store.Open(ctx, file)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	before := size(t, file)
	es := make([]idco.AuditEntry, 2000)
	for i := range es {
		es[i] = idco.AuditEntry{At: time.Now(), Actor: "test", Action: "fill", Subject: fmt.Sprintf("entry %d with some text to take room", i), Allowed: true}
	}
	if err := s.Update(ctx, func(tx idco.Tx) error { return tx.AppendAudit(ctx, es...) }); err != nil {
		t.Fatal(err)
	}
	if size(t, file+"-wal") == 0 {
		t.Fatal("the commit wrote no WAL")
	}
	// Generous: the checkpointer runs every second.
	deadline := time.Now().Add(30 * time.Second)
	for size(t, file) <= before {
		if time.Now().After(deadline) {
			t.Fatalf("database file still %d bytes 30 s after the commit: no checkpoint ran", before)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func size(t *testing.T, name string) int64 {
	t.Helper()
	st, err := os.Stat(name)
	if err != nil {
		t.Fatal(err)
	}
	return st.Size()
}
