package toolchain

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// LabPackages returns the Debian packages the local Kubernetes lab and the
// kernel-tier tests need (wireguard-go, wireguard-tools and iperf3: the
// reference peer and the throughput tool of internal/wireguard's tests and
// benchmark; frr: the router of the BGP tests and of `lab up --frr`;
// chromium: the browser of the portal's tests). The caller owns the
// returned slice.
func LabPackages() []string {
	return []string{
		"containerd", "runc", "containernetworking-plugins", "iptables",
		"nftables", "conntrack", "busybox-static", "iproute2", "util-linux",
		"socat", "iputils-ping", "postgresql",
		"wireguard-go", "wireguard-tools", "iperf3", "frr", "chromium",
	}
}

// EnsurePackages installs those of pkgs (Debian package names, without
// architecture) that dpkg does not report as installed. When all are
// installed it runs nothing else. Otherwise it runs apt-get update once
// and apt-get install for the missing ones, writing their output to
// apt.log in DefaultCacheDir; progress lines go to out (nil discards
// them). It needs root to install anything.
func EnsurePackages(ctx context.Context, out io.Writer, pkgs ...string) error {
	if out == nil {
		out = io.Discard
	}
	dir, err := DefaultCacheDir()
	if err != nil {
		return err
	}
	return ensurePackages(ctx, out, hostCommander{}, filepath.Join(dir, "apt.log"), pkgs)
}

// commander runs host commands; tests replace it with a recorder.
type commander interface {
	// Output runs a command and returns its standard output.
	Output(ctx context.Context, name string, args ...string) ([]byte, error)
	// Run runs a command with extra environment, its output going to log.
	Run(ctx context.Context, log io.Writer, env []string, name string, args ...string) error
}

func ensurePackages(ctx context.Context, out io.Writer, c commander, logPath string, pkgs []string) error {
	if len(pkgs) == 0 {
		return nil
	}
	args := append([]string{"-W", "-f=${Package}\t${Status}\n", "--"}, pkgs...)
	stdout, err := c.Output(ctx, "dpkg-query", args...)
	// dpkg-query exits 1 when some package is unknown to it; that is just
	// one more missing package.
	var exit *exec.ExitError
	if err != nil && !(errors.As(err, &exit) && exit.ExitCode() == 1) {
		return fmt.Errorf("query dpkg status of %q: %w", pkgs, err)
	}
	missing := missingPackages(parseDpkgStatus(stdout), pkgs)
	if len(missing) == 0 {
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(logPath), 0o755); err != nil {
		return fmt.Errorf("create log dir %q: %w", filepath.Dir(logPath), err)
	}
	logf, err := os.Create(logPath)
	if err != nil {
		return fmt.Errorf("create apt log %q: %w", logPath, err)
	}
	defer logf.Close()
	fmt.Fprintf(out, "installing Debian packages %s (log: %s)...\n", strings.Join(missing, " "), logPath)
	env := []string{"DEBIAN_FRONTEND=noninteractive"}
	if err := c.Run(ctx, logf, env, "apt-get", "update"); err != nil {
		return fmt.Errorf("update apt lists to install %q (see %s): %w", missing, logPath, err)
	}
	install := append([]string{"install", "-y", "--no-install-recommends", "--"}, missing...)
	if err := c.Run(ctx, logf, env, "apt-get", install...); err != nil {
		return fmt.Errorf("install packages %q (see %s): %w", missing, logPath, err)
	}
	return nil
}

// parseDpkgStatus reads "name<TAB>want flag status" lines as printed by
// dpkg-query -f '${Package}\t${Status}\n' and reports which names are
// installed. A name listed for several architectures counts as installed
// when any of them is; config-files, half-installed and unpacked do not.
func parseDpkgStatus(out []byte) map[string]bool {
	installed := map[string]bool{}
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		name, status, ok := strings.Cut(sc.Text(), "\t")
		name = strings.TrimSpace(name)
		if !ok || name == "" {
			continue
		}
		f := strings.Fields(status)
		installed[name] = installed[name] || (len(f) == 3 && f[2] == "installed")
	}
	return installed
}

// missingPackages returns the pkgs not installed, in order, without repeats.
func missingPackages(installed map[string]bool, pkgs []string) []string {
	var missing []string
	seen := map[string]bool{}
	for _, p := range pkgs {
		if !installed[p] && !seen[p] {
			missing = append(missing, p)
		}
		seen[p] = true
	}
	return missing
}

// hostCommander runs commands on the host.
type hostCommander struct{}

func (hostCommander) Output(ctx context.Context, name string, args ...string) ([]byte, error) {
	return exec.CommandContext(ctx, name, args...).Output()
}

func (hostCommander) Run(ctx context.Context, log io.Writer, env []string, name string, args ...string) error {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout = log
	cmd.Stderr = log
	fmt.Fprintf(log, "$ %s %s %s\n", strings.Join(env, " "), name, strings.Join(args, " "))
	return cmd.Run()
}
