package lab

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"time"
)

// DownOptions tune Down.
type DownOptions struct {
	KeepLogs bool // leave <dir>/logs in place
}

// Down removes everything the lab recorded: processes, cgroups, mount and
// network namespaces, mounts, created directories and the lab directory,
// and restores the host sysctls the kubelet changed. With no lab up it
// says so and changes nothing.
func Down(ctx context.Context, cfg Config, opts DownOptions) error {
	cfg.setDefaults()
	p := newProgress(cfg.Out)
	st, err := loadState(cfg.Dir)
	if errors.Is(err, ErrNotUp) {
		p.printf("no lab %q is up (no state in %s); nothing to do", cfg.Name, cfg.Dir)
		return nil
	}
	if err != nil {
		return err
	}
	return teardown(ctx, cfg.Dir, st, p, opts.KeepLogs)
}

// teardown undoes what st records. It keeps going after errors, so that
// one stuck piece does not leave the rest behind, and returns them all.
func teardown(ctx context.Context, dir string, st *State, p *progress, keepLogs bool) error {
	r := st.snapshot()
	var errs []error
	done := p.step("stop %d daemons and everything in the lab's cgroups", len(r.Procs))
	stopRecorded(ctx, r.Procs, 2*time.Second) // the lab is thrown away: no need to wait for graceful API server shutdown
	for _, cg := range r.Cgroups {
		errs = append(errs, destroyCgroup(ctx, cg))
	}
	done(errors.Join(errs...))

	done = p.step("remove %d mount and %d network namespaces", len(r.MountNS), len(r.NetNS))
	var nsErrs []error
	for _, f := range r.MountNS {
		nsErrs = append(nsErrs, unmount(f))
		if err := os.Remove(f); err != nil && !errors.Is(err, os.ErrNotExist) {
			nsErrs = append(nsErrs, err)
		}
	}
	for _, n := range r.NetNS {
		nsErrs = append(nsErrs, delNetNS(n))
	}
	for _, m := range slices.Backward(r.Mounts) {
		nsErrs = append(nsErrs, unmount(m))
	}
	done(errors.Join(nsErrs...))
	errs = append(errs, nsErrs...)

	done = p.step("restore host sysctls and remove lab files")
	var fileErrs []error
	// The directories the lab made are mount points that every lab's
	// nodes bind-mount over; removing one unmounts it in every namespace,
	// which would pull /opt/cni or /var/log/containers out from under
	// another lab's nodes. While another lab is up they stay (empty).
	if others := otherLabs(dir); len(others) > 0 && len(r.Dirs) > 0 {
		p.printf("keeping the mount points %v: lab(s) %v still use them", r.Dirs, others)
	} else {
		for _, d := range slices.Backward(r.Dirs) {
			if err := os.Remove(d); err != nil && !errors.Is(err, os.ErrNotExist) {
				fileErrs = append(fileErrs, fmt.Errorf("remove %s (created by the lab): %w", d, err))
			}
		}
	}
	fileErrs = append(fileErrs, writeSysctls(r.Sysctls))
	fileErrs = append(fileErrs, removeLabDir(dir, keepLogs))
	if !keepLogs && dir == DefaultDir(r.Name) { // and /var/lib/switchboard{/labs,} if now empty
		for d := filepath.Dir(dir); d != "/var/lib"; d = filepath.Dir(d) {
			_ = os.Remove(d)
		}
	}
	done(errors.Join(fileErrs...))
	errs = append(errs, fileErrs...)
	return errors.Join(errs...)
}

// removeLabDir deletes the lab directory, or all of it but logs/, into
// which it first copies the pods' container logs (the nodes' /var/log/pods),
// so that a failed run can be read afterwards.
func removeLabDir(dir string, keepLogs bool) error {
	if !keepLogs {
		return os.RemoveAll(dir)
	}
	podLogs, _ := filepath.Glob(filepath.Join(dir, "*", "*", "var-log-pods"))
	for _, src := range podLogs {
		node := filepath.Base(filepath.Dir(src))
		_ = os.CopyFS(filepath.Join(dir, "logs", "pods-"+node), os.DirFS(src)) // best effort
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	var errs []error
	for _, e := range entries {
		if e.Name() != "logs" {
			errs = append(errs, os.RemoveAll(filepath.Join(dir, e.Name())))
		}
	}
	return errors.Join(errs...)
}

// otherLabs returns the names of the labs other than the one in dir that
// have state under the default labs directory: labs that are up.
func otherLabs(dir string) []string {
	entries, err := os.ReadDir(filepath.Dir(DefaultDir("x")))
	if err != nil {
		return nil
	}
	var out []string
	for _, e := range entries {
		d := filepath.Join(filepath.Dir(DefaultDir("x")), e.Name())
		if d == filepath.Clean(dir) {
			continue
		}
		if _, err := os.Stat(statePath(d)); err == nil {
			out = append(out, e.Name())
		}
	}
	return out
}
