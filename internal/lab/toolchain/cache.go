package toolchain

import (
	"fmt"
	"os"
	"path/filepath"
)

// CacheEnv names the environment variable that overrides DefaultCacheDir.
const CacheEnv = "SWITCHBOARD_CACHE"

// DefaultCacheDir returns $SWITCHBOARD_CACHE when set, else the
// "switchboard" directory in the user's cache directory (~/.cache by
// default). It does not create the directory.
func DefaultCacheDir() (string, error) {
	if dir := os.Getenv(CacheEnv); dir != "" {
		return dir, nil
	}
	base, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("find cache dir (set %s): %w", CacheEnv, err)
	}
	return filepath.Join(base, "switchboard"), nil
}

// layout names the files of one Build inside the cache directory.
type layout struct {
	root string // <cache>/<name>-<version>
}

func newLayout(cacheDir string, b Build) layout {
	return layout{root: filepath.Join(cacheDir, b.Name+"-"+b.Version)}
}

func (l layout) binDir() string    { return filepath.Join(l.root, "bin") }
func (l layout) moduleDir() string { return filepath.Join(l.root, "module") }
func (l layout) logFile() string   { return filepath.Join(l.root, "build.log") }
func (l layout) lockFile() string  { return filepath.Join(l.root, "lock") }
func (l layout) stampFile() string { return filepath.Join(l.binDir(), stampName) }

// stampName is the stamp file inside bin/; it starts with a dot so that it
// is never mistaken for a binary.
const stampName = ".stamp"
