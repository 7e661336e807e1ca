package toolchain

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// testWriter sends progress lines to the test log.
type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// TestEnsureBuildsFromProxy builds the Multus thin plugin from the module
// proxy into a temporary cache, runs it, and checks that a second Ensure
// reuses it. It needs the network and about a minute of two cores.
func TestEnsureBuildsFromProxy(t *testing.T) {
	if os.Getenv("SWITCHBOARD_TOOLCHAIN_TEST") != "1" {
		t.Skip("set SWITCHBOARD_TOOLCHAIN_TEST=1 to build from the Go module proxy")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	cacheDir := t.TempDir()
	b := Multus()

	binDir, err := b.Ensure(ctx, cacheDir, testWriter{t})
	if err != nil {
		t.Fatalf("first Ensure() = %v", err)
	}
	bin := filepath.Join(binDir, "multus")
	out, err := exec.CommandContext(ctx, bin, "-version").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "version:"+MultusVersion) {
		t.Fatalf("%s -version = %v:\n%s", bin, err, out)
	}
	before, err := os.Stat(bin)
	if err != nil {
		t.Fatal(err)
	}
	logBefore, err := os.Stat(newLayout(cacheDir, b).logFile())
	if err != nil {
		t.Fatal(err)
	}

	start := time.Now()
	again, err := b.Ensure(ctx, cacheDir, testWriter{t})
	if err != nil || again != binDir {
		t.Fatalf("second Ensure() = %q, %v; want %q, nil", again, err, binDir)
	}
	after, err := os.Stat(bin)
	if err != nil {
		t.Fatal(err)
	}
	logAfter, err := os.Stat(newLayout(cacheDir, b).logFile())
	if err != nil {
		t.Fatal(err)
	}
	if !after.ModTime().Equal(before.ModTime()) || !logAfter.ModTime().Equal(logBefore.ModTime()) {
		t.Errorf("second Ensure() rebuilt: binary mtime %v -> %v", before.ModTime(), after.ModTime())
	}
	t.Logf("cache hit took %v", time.Since(start))
	entries, err := os.ReadDir(binDir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), ".partial") {
			t.Errorf("temporary file %s left in %s", e.Name(), binDir)
		}
	}
}
