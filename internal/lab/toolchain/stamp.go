package toolchain

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// stampFormat is bumped when the way binaries are built changes in a way
// the spec does not show, so that old caches are rebuilt.
const stampFormat = "switchboard-toolchain/1"

// stamp returns a hash of everything that decides what the binaries are.
// Maps are encoded with sorted keys, so equal specs hash equally.
func (b Build) stamp() string {
	spec, err := json.Marshal(b)
	if err != nil {
		// Build holds only strings, slices and maps of strings.
		panic(fmt.Sprintf("encode build spec: %v", err))
	}
	sum := sha256.Sum256(append([]byte(stampFormat+"\n"), spec...))
	return hex.EncodeToString(sum[:])
}

// cachePlan is what Ensure has to do for one Build.
type cachePlan struct {
	clean bool     // remove every cached binary first: built from another spec
	build []string // binaries to build, in spec order
}

// planCache decides what to rebuild. The stamp records which spec the
// binaries in bin/ were built from; a binary only appears there, by rename,
// once it is complete. So with a matching stamp every present binary is
// good and only missing ones are built; with a missing or different stamp
// everything is rebuilt.
func planCache(haveStamp, wantStamp string, present map[string]bool, binaries []string) cachePlan {
	if haveStamp != wantStamp {
		return cachePlan{clean: true, build: append([]string(nil), binaries...)}
	}
	var p cachePlan
	for _, bin := range binaries {
		if !present[bin] {
			p.build = append(p.build, bin)
		}
	}
	return p
}

// readStamp returns the stamp in path, or "" when there is none.
func readStamp(path string) (string, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("read stamp %q: %w", path, err)
	}
	return strings.TrimSpace(string(data)), nil
}

// presentBinaries reports which of binaries exist as regular files in dir.
func presentBinaries(dir string, binaries []string) map[string]bool {
	present := map[string]bool{}
	for _, bin := range binaries {
		st, err := os.Stat(filepath.Join(dir, bin))
		present[bin] = err == nil && st.Mode().IsRegular()
	}
	return present
}

// writeFileAtomic writes data to path through a temporary file and rename,
// so readers see the old content or the new, never a partial file.
func writeFileAtomic(path string, data []byte, perm os.FileMode) error {
	tmp := path + ".partial"
	if err := os.WriteFile(tmp, data, perm); err != nil {
		return fmt.Errorf("write %q: %w", tmp, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("rename %q: %w", tmp, err)
	}
	return nil
}
