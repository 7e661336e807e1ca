package image

import (
	"bytes"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"
)

// teardown removes everything the daemon and its containers made: the
// container if a failure left it behind, the daemon, stray shims, mounts
// under c.dir, the namespace's cgroups and the /run/containerd directories
// that did not exist before. t.TempDir removes c.dir afterwards.
func (c *containerd) teardown(t *testing.T, runDirs *dirs) {
	if t.Failed() {
		c.ctrErr(5*time.Second, "tasks", "kill", "--signal", "SIGKILL", c.container)
		c.ctrErr(5*time.Second, "tasks", "rm", "--force", c.container)
		c.ctrErr(5*time.Second, "containers", "rm", c.container)
		if log, err := os.ReadFile(filepath.Join(c.dir, "containerd.log")); err == nil {
			t.Logf("containerd log (tail):\n%s", tail(log, 30))
		}
	}
	c.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-c.exited:
	case <-time.After(5 * time.Second):
		c.cmd.Process.Kill()
		<-c.exited
	}
	for _, pid := range c.shims() {
		t.Logf("killing leftover shim %d", pid)
		syscall.Kill(pid, syscall.SIGKILL)
	}
	for _, mp := range mountsUnder(c.dir) {
		if err := syscall.Unmount(mp, syscall.MNT_DETACH); err != nil {
			t.Errorf("unmount %q: %v", mp, err)
		}
	}
	removeCgroups(t, c.namespace)
	runDirs.removeNew()
}

// shims returns the pids of runc shims serving this daemon's namespace.
func (c *containerd) shims() []int {
	var pids []int
	procs, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	for _, p := range procs {
		raw, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		args := strings.Split(string(raw), "\x00")
		if filepath.Base(args[0]) != "containerd-shim-runc-v2" {
			continue
		}
		cmdline := strings.Join(args, " ")
		if strings.Contains(cmdline, "-namespace "+c.namespace+" ") && strings.Contains(cmdline, c.socket) {
			var pid int
			if _, err := fmt.Sscanf(p, "/proc/%d/cmdline", &pid); err == nil {
				pids = append(pids, pid)
			}
		}
	}
	return pids
}

// mountsUnder lists the mount points below dir, deepest first.
func mountsUnder(dir string) []string {
	raw, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return nil
	}
	var mps []string
	for _, line := range strings.Split(string(raw), "\n") {
		fields := strings.Fields(line)
		if len(fields) > 4 && strings.HasPrefix(fields[4], dir+"/") {
			mps = append(mps, fields[4])
		}
	}
	sort.Slice(mps, func(i, j int) bool { return len(mps[i]) > len(mps[j]) })
	return mps
}

// removeCgroups removes the (by now empty) cgroups runc made for the
// namespace: /sys/fs/cgroup/<ns> on cgroup v2, /sys/fs/cgroup/*/<ns> on v1.
func removeCgroups(t *testing.T, namespace string) {
	roots, _ := filepath.Glob("/sys/fs/cgroup/*/" + namespace)
	roots = append(roots, "/sys/fs/cgroup/"+namespace)
	for _, root := range roots {
		var dirs []string
		filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err == nil && d.IsDir() {
				dirs = append(dirs, p)
			}
			return nil
		})
		for i := len(dirs) - 1; i >= 0; i-- {
			if err := syscall.Rmdir(dirs[i]); err != nil {
				t.Errorf("remove cgroup %q: %v", dirs[i], err)
			}
		}
	}
}

// dirs remembers which of some directories did not exist yet.
type dirs struct{ missing []string }

// newDirs records which of paths, parents first, do not exist now.
func newDirs(paths ...string) *dirs {
	d := &dirs{}
	for _, p := range paths {
		if _, err := os.Lstat(p); os.IsNotExist(err) {
			d.missing = append(d.missing, p)
		}
	}
	return d
}

// removeNew removes the recorded directories, children first, where they
// are empty; a directory someone else has started to use stays.
func (d *dirs) removeNew() {
	for i := len(d.missing) - 1; i >= 0; i-- {
		syscall.Rmdir(d.missing[i])
	}
}

// tail returns the last n lines of b.
func tail(b []byte, n int) []byte {
	lines := bytes.Split(bytes.TrimRight(b, "\n"), []byte("\n"))
	return bytes.Join(lines[max(0, len(lines)-n):], []byte("\n"))
}
