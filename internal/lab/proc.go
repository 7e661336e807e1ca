package lab

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// daemon describes a long-running process of the lab.
type daemon struct {
	name   string // unique in the lab, e.g. "a-kube-apiserver"; also the log file name
	cgroup string // relative cgroup it joins before it starts
	netNS  string // network namespace name ("" = host; never used for daemons)
	mntNS  string // persistent mount-namespace file ("" = host mount namespace)
	argv   []string
	env    []string
}

// started is a daemon that Up started; exited is closed when it exits.
type started struct {
	Proc
	exited <-chan struct{}
	status *error
}

// start launches d in its namespaces and cgroup, detached from this process
// (its own session), with stdout and stderr appended to its log file, and
// records it in the state before returning.
//
// The process joins its cgroup before it executes anything of its own: a
// shell writes its PID into every hierarchy's cgroup.procs and then execs
// nsenter, which execs the daemon, so the PID stays the same throughout.
func (l *lab) start(d daemon) (*started, error) {
	procFiles, err := cgroupProcFiles(d.cgroup)
	if err != nil {
		return nil, err
	}
	logPath := filepath.Join(l.logDir(), d.name+".log")
	logf, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("open log of %s: %w", d.name, err)
	}
	defer logf.Close()

	enter := []string{"nsenter"}
	if d.netNS != "" {
		enter = append(enter, "--net="+netnsPath(d.netNS))
	}
	if d.mntNS != "" {
		enter = append(enter, "--mount="+d.mntNS)
	}
	enter = append(enter, "--")
	script := `echo $$ | tee ` + strings.Join(procFiles, " ") + ` >/dev/null && exec "$@"`
	cmd := exec.Command("/bin/sh", append([]string{"-c", script, "sh"}, append(enter, d.argv...)...)...)
	cmd.Env = append(os.Environ(), d.env...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", d.name, err)
	}
	p := Proc{Name: d.name, PID: cmd.Process.Pid, Log: logPath}
	p.Start, _, _ = procStat(p.PID)
	if err := l.state.update(func(r *record) { r.Procs = append(r.Procs, p) }); err != nil {
		return nil, err
	}
	done := make(chan struct{})
	s := &started{Proc: p, exited: done, status: new(error)}
	go func() {
		*s.status = cmd.Wait()
		close(done)
	}()
	return s, nil
}

// alive reports whether the recorded process is still the one we started
// and has not exited (a zombie is not alive).
func (p Proc) alive() bool {
	st, state, err := procStat(p.PID)
	return err == nil && state != "Z" && (p.Start == 0 || st == p.Start)
}

// procStat reads the start time (field 22) and state (field 3) of /proc/PID/stat.
func procStat(pid int) (start uint64, state string, err error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, "", err
	}
	// The command name (field 2) may hold spaces; fields after ')' are plain.
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, "", errors.New("malformed stat")
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 20 {
		return 0, "", errors.New("short stat")
	}
	start, err = strconv.ParseUint(f[19], 10, 64)
	return start, f[0], err
}

// stopRecorded sends SIGTERM to every recorded daemon that is still the
// process we started, waits up to grace for them, then SIGKILLs the rest.
func stopRecorded(ctx context.Context, procs []Proc, grace time.Duration) {
	var live []Proc
	for i := len(procs) - 1; i >= 0; i-- {
		if p := procs[i]; p.alive() {
			_ = syscall.Kill(p.PID, syscall.SIGTERM)
			live = append(live, p)
		}
	}
	deadline := time.Now().Add(grace)
	for len(live) > 0 && time.Now().Before(deadline) && ctx.Err() == nil {
		time.Sleep(50 * time.Millisecond)
		live = slices.DeleteFunc(live, func(p Proc) bool { return !p.alive() })
	}
	for _, p := range live {
		_ = syscall.Kill(p.PID, syscall.SIGKILL)
	}
}

// tail returns the last n lines of a file, for error messages.
func tail(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
