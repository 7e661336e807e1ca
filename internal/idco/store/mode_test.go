package store_test

import (
	"context"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"switchboard/internal/idco"
	"switchboard/internal/idco/store"
)

// TestSQLiteFilesArePrivate: the database holds the access lists, keys and
// audit log, and --db may put it in a directory others can read, so the
// file and its -wal and -shm companions are 0600 whatever the umask, and a
// database left readable by an older IDCO is made private on open.
func TestSQLiteFilesArePrivate(t *testing.T) {
	old := syscall.Umask(0o022) // the usual umask, under which SQLite makes 0644 files
	t.Cleanup(func() { syscall.Umask(old) })
	ctx := context.Background()
	dir := t.TempDir()
	if err := os.Chmod(dir, 0o755); err != nil { // like /var/lib: readable by all
		t.Fatal(err)
	}
	readable := filepath.Join(dir, "old.db")
	if err := os.WriteFile(readable, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ dsn, path string }{
		{filepath.Join(dir, "idco.db"), filepath.Join(dir, "idco.db")},
		{"sqlite://" + filepath.Join(dir, "url.db"), filepath.Join(dir, "url.db")},
		{readable, readable},
	} {
		s, err := store.Open(ctx, tc.dsn)
		if err != nil {
			t.Fatalf("open %s: %v", tc.dsn, err)
		}
		err = s.Update(ctx, func(tx idco.Tx) error { return tx.EnsureCluster(ctx, "a", time.Now()) })
		if err != nil {
			t.Fatalf("write to %s: %v", tc.dsn, err)
		}
		for _, p := range []string{tc.path, tc.path + "-wal", tc.path + "-shm"} {
			fi, err := os.Stat(p)
			if err != nil {
				t.Errorf("%s: %v (want it there while the database is open, in WAL mode)", p, err)
				continue
			}
			if m := fi.Mode().Perm(); m != 0o600 {
				t.Errorf("%s has mode %#o, want 0600", p, m)
			}
		}
		s.Close()
	}
}
