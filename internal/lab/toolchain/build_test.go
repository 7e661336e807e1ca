package toolchain

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// fakeCache lays out a cache for b as if bins had been built from spec.
func fakeCache(t *testing.T, b Build, stamp string, bins ...string) (cacheDir string) {
	t.Helper()
	cacheDir = t.TempDir()
	l := newLayout(cacheDir, b)
	if err := os.MkdirAll(l.binDir(), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(l.stampFile(), []byte(stamp+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, bin := range bins {
		if err := os.WriteFile(filepath.Join(l.binDir(), bin), []byte("#!/bin/true\n"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return cacheDir
}

func TestEnsureCacheHitRunsNothing(t *testing.T) {
	t.Setenv("PATH", "") // any go command would fail
	b := Etcd()
	cacheDir := fakeCache(t, b, b.stamp(), "etcd", "etcdctl")
	binDir, err := b.Ensure(context.Background(), cacheDir, nil)
	if err != nil {
		t.Fatalf("Ensure() = %v, want cache hit", err)
	}
	if want := filepath.Join(cacheDir, "etcd-"+EtcdVersion, "bin"); binDir != want {
		t.Errorf("Ensure() dir = %q, want %q", binDir, want)
	}
	if _, err := os.Stat(filepath.Join(cacheDir, "etcd-"+EtcdVersion, "build.log")); !os.IsNotExist(err) {
		t.Errorf("cache hit wrote a build log: %v", err)
	}
}

func TestEnsureRebuildsMissingOrStale(t *testing.T) {
	t.Setenv("PATH", "") // the build fails at once, after the cache decision
	tests := []struct {
		name      string
		stamp     string
		bins      []string
		wantStale bool // cached binaries removed
	}{
		{"missing binary", Etcd().stamp(), []string{"etcd"}, false},
		{"other spec", "old", []string{"etcd", "etcdctl"}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := Etcd()
			cacheDir := fakeCache(t, b, tt.stamp, tt.bins...)
			var out bytes.Buffer
			_, err := b.Ensure(context.Background(), cacheDir, &out)
			l := newLayout(cacheDir, b)
			if err == nil || !strings.Contains(err.Error(), l.logFile()) {
				t.Fatalf("Ensure() = %v, want a build error naming %s", err, l.logFile())
			}
			_, statErr := os.Stat(filepath.Join(l.binDir(), "etcd"))
			if stale := os.IsNotExist(statErr); stale != tt.wantStale {
				t.Errorf("etcd removed = %v, want %v", stale, tt.wantStale)
			}
			if got, _ := readStamp(l.stampFile()); got != b.stamp() {
				t.Errorf("stamp = %q, want the spec's", got)
			}
			if !strings.Contains(out.String(), "building etcd "+EtcdVersion) {
				t.Errorf("progress lacks the build line:\n%s", out.String())
			}
		})
	}
}

func TestLockFileWaitsForHolder(t *testing.T) {
	path := filepath.Join(t.TempDir(), "lock")
	unlock, err := lockFile(context.Background(), path, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*lockPoll)
	defer cancel()
	var out bytes.Buffer
	if _, err := lockFile(ctx, path, &out); err == nil {
		t.Fatal("second lockFile() succeeded while the first holds the lock")
	}
	if !strings.Contains(out.String(), "waiting for another build") {
		t.Errorf("no waiting message: %q", out.String())
	}
	unlock()
	unlock2, err := lockFile(context.Background(), path, nil)
	if err != nil {
		t.Fatalf("lockFile() after unlock = %v", err)
	}
	unlock2()
}
