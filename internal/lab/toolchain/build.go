package toolchain

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Build pins a set of main packages from one module version. Its zero
// value is not useful; see Kubernetes, Etcd, Multus and Whereabouts.
type Build struct {
	Name     string            // cache key, e.g. "kubernetes"; no slashes
	Module   string            // module that holds Packages, e.g. "k8s.io/kubernetes"
	Version  string            // exact version of Module, e.g. "v1.34.2"
	Require  map[string]string // further modules to require: path -> version
	Replace  map[string]string // module path -> "module version" replacement
	Packages []string          // main packages to build
	Names    map[string]string // package -> binary name, where go's default name is wrong
	LDFlags  string            // passed as go build -ldflags
	Env      []string          // extra environment, e.g. "CGO_ENABLED=0"
	Tags     []string          // passed as go build -tags
	// Sources are files written into the throwaway module before it is
	// resolved: path relative to the module root -> content. They let a
	// Build compile its own main package (import path ModulePath()+"/"+dir),
	// e.g. CoreDNS with a chosen set of plugins.
	Sources map[string]string `json:",omitempty"`
}

// Ensure makes sure every package of b is built in the cache and returns the
// directory holding the binaries (one per package, named by the package's
// last path element unless Names says otherwise). An empty cacheDir means
// DefaultCacheDir. Progress lines go to out (nil discards them); the go
// command's own output goes to the build.log next to bin/.
//
// Ensure is idempotent: binaries built from an identical spec are reused,
// and only missing ones are built. Binaries appear by rename once complete,
// so an interrupted build never leaves a partial binary that looks cached.
// Concurrent calls, also from other processes, are serialized by a file
// lock per build. The caller owns nothing in the returned directory and
// must not write to it.
func (b Build) Ensure(ctx context.Context, cacheDir string, out io.Writer) (string, error) {
	if out == nil {
		out = io.Discard
	}
	if err := b.validate(); err != nil {
		return "", err
	}
	if cacheDir == "" {
		dir, err := DefaultCacheDir()
		if err != nil {
			return "", err
		}
		cacheDir = dir
	}
	l := newLayout(cacheDir, b)
	if p, err := b.plan(l); err == nil && len(p.build) == 0 {
		return l.binDir(), nil
	}
	if err := os.MkdirAll(l.binDir(), 0o755); err != nil {
		return "", fmt.Errorf("create cache dir %q: %w", l.binDir(), err)
	}
	unlock, err := lockFile(ctx, l.lockFile(), out)
	if err != nil {
		return "", err
	}
	defer unlock()
	// Plan again: another process may have built while we waited.
	p, err := b.plan(l)
	if err != nil {
		return "", err
	}
	if len(p.build) == 0 {
		return l.binDir(), nil
	}
	if p.clean {
		if err := resetBinDir(l, b.stamp()); err != nil {
			return "", err
		}
	}
	if err := b.build(ctx, l, p.build, out); err != nil {
		return "", err
	}
	return l.binDir(), nil
}

// plan reads the cache state of b and decides what to build.
func (b Build) plan(l layout) (cachePlan, error) {
	have, err := readStamp(l.stampFile())
	if err != nil {
		return cachePlan{}, err
	}
	bins := b.binaries()
	return planCache(have, b.stamp(), presentBinaries(l.binDir(), bins), bins), nil
}

// resetBinDir empties bin/ and stamps it for the spec about to be built.
func resetBinDir(l layout, stamp string) error {
	entries, err := os.ReadDir(l.binDir())
	if err != nil {
		return fmt.Errorf("read cache dir %q: %w", l.binDir(), err)
	}
	// Remove the old stamp first, so that no stamp vouches for a mix.
	if err := os.RemoveAll(l.stampFile()); err != nil {
		return fmt.Errorf("remove stamp %q: %w", l.stampFile(), err)
	}
	for _, e := range entries {
		p := filepath.Join(l.binDir(), e.Name())
		if err := os.RemoveAll(p); err != nil {
			return fmt.Errorf("remove stale binary %q: %w", p, err)
		}
	}
	return writeFileAtomic(l.stampFile(), []byte(stamp+"\n"), 0o644)
}

// build renders the throwaway module, resolves it and builds bins into bin/.
func (b Build) build(ctx context.Context, l layout, bins []string, out io.Writer) error {
	label := b.Name + " " + b.Version
	if err := os.MkdirAll(l.moduleDir(), 0o755); err != nil {
		return fmt.Errorf("create module dir %q: %w", l.moduleDir(), err)
	}
	if err := os.WriteFile(filepath.Join(l.moduleDir(), "go.mod"), []byte(b.goMod()), 0o644); err != nil {
		return fmt.Errorf("write go.mod for %q: %w", label, err)
	}
	if err := os.WriteFile(filepath.Join(l.moduleDir(), "tools.go"), []byte(b.toolsGo()), 0o644); err != nil {
		return fmt.Errorf("write tools.go for %q: %w", label, err)
	}
	for _, name := range sortedKeys(b.Sources) {
		path := filepath.Join(l.moduleDir(), filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return fmt.Errorf("create source dir for %q: %w", label, err)
		}
		if err := os.WriteFile(path, []byte(b.Sources[name]), 0o644); err != nil {
			return fmt.Errorf("write source %q for %q: %w", name, label, err)
		}
	}
	logf, err := os.Create(l.logFile())
	if err != nil {
		return fmt.Errorf("create build log %q: %w", l.logFile(), err)
	}
	defer logf.Close()
	g := goCmd{dir: l.moduleDir(), env: b.Env, log: logf}

	fmt.Fprintf(out, "building %s: resolving modules (go output in %s)\n", label, l.logFile())
	if err := g.run(ctx, "mod", "tidy"); err != nil {
		tailLog(out, l.logFile())
		return fmt.Errorf("resolve modules for %q (see %s): %w", label, l.logFile(), err)
	}
	pkgOf := map[string]string{}
	for _, pkg := range b.Packages {
		pkgOf[b.binaryName(pkg)] = pkg
	}
	for i, bin := range bins {
		pkg := pkgOf[bin]
		fmt.Fprintf(out, "building %s: %s (%d/%d; a cold build can take minutes)...\n", label, bin, i+1, len(bins))
		start := time.Now()
		if err := b.buildOne(ctx, g, pkg, filepath.Join(l.binDir(), bin)); err != nil {
			tailLog(out, l.logFile())
			return fmt.Errorf("build package %q (see %s): %w", pkg, l.logFile(), err)
		}
		fmt.Fprintf(out, "built %s in %s\n", bin, time.Since(start).Round(100*time.Millisecond))
	}
	return nil
}

// buildOne builds pkg to a temporary name next to dst and renames it.
func (b Build) buildOne(ctx context.Context, g goCmd, pkg, dst string) error {
	tmp := filepath.Join(filepath.Dir(dst), "."+filepath.Base(dst)+".partial")
	defer os.Remove(tmp)
	args := []string{"build", "-mod=mod", "-o", tmp}
	if b.LDFlags != "" {
		args = append(args, "-ldflags", b.LDFlags)
	}
	if len(b.Tags) > 0 {
		args = append(args, "-tags", strings.Join(b.Tags, ","))
	}
	if err := g.run(ctx, append(args, pkg)...); err != nil {
		return err
	}
	if st, err := os.Stat(tmp); err != nil || !st.Mode().IsRegular() {
		return fmt.Errorf("go build wrote no binary (is %q a main package?)", pkg)
	}
	if err := os.Rename(tmp, dst); err != nil {
		return fmt.Errorf("rename binary %q: %w", dst, err)
	}
	return nil
}
