package lab

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

// TestOtherLabs: a lab's teardown sees the other labs that are up (their
// state file), and not itself nor a directory without state, so that it
// keeps the shared mount points while they use them.
func TestOtherLabs(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root: writes under /var/lib/switchboard/labs")
	}
	stamp := fmt.Sprintf("t%d", time.Now().UnixNano()%1e9)
	self, up, gone := DefaultDir(stamp+"s"), DefaultDir(stamp+"u"), DefaultDir(stamp+"g")
	for _, d := range []string{self, up, gone} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { os.RemoveAll(d) })
	}
	for _, d := range []string{self, up} {
		if err := os.WriteFile(statePath(d), []byte("{}"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	got := otherLabs(self)
	if !slices.Contains(got, filepath.Base(up)) || slices.Contains(got, filepath.Base(self)) || slices.Contains(got, filepath.Base(gone)) {
		t.Errorf("otherLabs(%s) = %v, want %s among them and neither itself nor %s", self, got, filepath.Base(up), filepath.Base(gone))
	}
}
