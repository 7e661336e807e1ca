//go:build e2e

package e2e

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"switchboard/internal/lab"
)

// hostState is what the host network namespace looks like: the lab must
// never add an address, route or firewall rule there, nor leave a changed
// sysctl behind.
type hostState map[string]string

func snapshotHost() (hostState, error) {
	s := hostState{}
	for name, argv := range map[string][]string{
		"addresses": {"ip", "-o", "addr", "show"},
		"routes":    {"ip", "route", "show", "table", "all"},
		"nftables":  {"nft", "list", "ruleset"},
		"links":     {"ip", "-o", "link", "show"},
	} {
		out, err := exec.Command(argv[0], argv[1:]...).Output()
		if err != nil {
			return nil, fmt.Errorf("%s: %w", strings.Join(argv, " "), err)
		}
		s[name] = string(out)
	}
	for _, k := range []string{"vm/overcommit_memory", "kernel/panic", "kernel/panic_on_oops", "net/ipv4/ip_forward"} {
		b, err := os.ReadFile(filepath.Join("/proc/sys", k))
		if err != nil {
			return nil, err
		}
		s["sysctl "+k] = strings.TrimSpace(string(b))
	}
	return s, nil
}

// diff names what differs between two snapshots; skip lists keys not compared.
func (s hostState) diff(o hostState, skip ...string) error {
	var errs []error
	for k, v := range s {
		if slices.Contains(skip, k) || strings.HasPrefix(k, "sysctl") && slices.Contains(skip, "sysctls") {
			continue
		}
		if o[k] != v {
			errs = append(errs, fmt.Errorf("host %s changed:\nbefore:\n%s\nnow:\n%s", k, v, o[k]))
		}
	}
	return errors.Join(errs...)
}

// TestHostNamespaceUntouched: with the whole lab up, the host namespace has
// exactly the addresses, links, routes and firewall rules it had before.
// (The kubelet's host sysctls are allowed to differ while the lab is up.)
func TestHostNamespaceUntouched(t *testing.T) {
	now, err := snapshotHost()
	if err != nil {
		t.Fatal(err)
	}
	if err := hostSnap.diff(now, "sysctls"); err != nil {
		t.Fatal(err)
	}
}

// checkNothingLeft verifies that no namespace, mount, cgroup, process,
// file or host change of the lab named name remains.
func checkNothingLeft(name string, before hostState) error {
	var errs []error
	if m, _ := filepath.Glob("/run/netns/" + name + "-*"); len(m) > 0 {
		errs = append(errs, fmt.Errorf("network namespaces left: %v", m))
	}
	dir := lab.DefaultDir(name)
	mounts, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		errs = append(errs, err)
	}
	for _, line := range strings.Split(string(mounts), "\n") {
		if strings.Contains(line, dir) {
			errs = append(errs, fmt.Errorf("mount left: %s", line))
		}
	}
	if m, _ := filepath.Glob("/sys/fs/cgroup/*/" + name); len(m) > 0 {
		errs = append(errs, fmt.Errorf("cgroups left: %v", m))
	}
	procs, _ := filepath.Glob("/proc/[0-9]*/cgroup")
	for _, p := range procs {
		b, err := os.ReadFile(p)
		if err == nil && bytes.Contains(b, []byte(":/"+name+"/")) && !zombie(filepath.Dir(p)) {
			cmd, _ := os.ReadFile(filepath.Join(filepath.Dir(p), "cmdline"))
			errs = append(errs, fmt.Errorf("process left: %s %s", filepath.Dir(p), bytes.ReplaceAll(cmd, []byte{0}, []byte{' '})))
		}
	}
	entries, err := os.ReadDir(dir)
	if err == nil {
		for _, e := range entries {
			if e.Name() != "logs" {
				errs = append(errs, fmt.Errorf("lab file left: %s", filepath.Join(dir, e.Name())))
			}
		}
	}
	after, err := snapshotHost()
	if err != nil {
		errs = append(errs, err)
	} else if err := before.diff(after); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// zombie reports whether a process has exited and only waits to be reaped
// by init: it holds nothing but its PID.
func zombie(procDir string) bool {
	b, err := os.ReadFile(filepath.Join(procDir, "stat"))
	if err != nil {
		return true // gone
	}
	i := bytes.LastIndexByte(b, ')')
	return i > 0 && i+2 < len(b) && b[i+2] == 'Z'
}
