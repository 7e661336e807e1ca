package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// pluginBin is the plugin binary built by TestMain for the exec tests.
var pluginBin string

func TestMain(m *testing.M) {
	os.Exit(buildAndRun(m))
}

func buildAndRun(m *testing.M) int {
	dir, err := os.MkdirTemp("", "switchboard-cni-test")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	pluginBin = filepath.Join(dir, "switchboard-cni")
	out, err := exec.Command("go", "build", "-o", pluginBin, "switchboard/cmd/switchboard-cni").CombinedOutput()
	if err != nil {
		fmt.Fprintf(os.Stderr, "build switchboard-cni: %v\n%s", err, out)
		return 1
	}
	return m.Run()
}

// invocation is one run of the plugin binary.
type invocation struct {
	command     string
	containerID string
	netns       string
	ifName      string
	args        string
	config      string
}

// result is what a run of the plugin produced.
type result struct {
	stdout, stderr string
	exitCode       int
}

// run executes the plugin as a runtime would: CNI_* in a clean environment,
// the configuration on stdin.
func run(t *testing.T, inv invocation) result {
	t.Helper()
	cmd := exec.Command(pluginBin)
	cmd.Env = []string{
		"CNI_COMMAND=" + inv.command,
		"CNI_CONTAINERID=" + inv.containerID,
		"CNI_NETNS=" + inv.netns,
		"CNI_IFNAME=" + inv.ifName,
		"CNI_ARGS=" + inv.args,
		"CNI_PATH=/opt/cni/bin",
	}
	cmd.Stdin = bytes.NewReader([]byte(inv.config))
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var exitErr *exec.ExitError
	if err != nil && !errors.As(err, &exitErr) {
		t.Fatalf("run plugin: %v", err)
	}
	return result{stdout: stdout.String(), stderr: stderr.String(), exitCode: cmd.ProcessState.ExitCode()}
}

// cniError decodes the error the plugin printed on stdout.
func (r result) cniError(t *testing.T) (code uint, msg, details string) {
	t.Helper()
	if r.exitCode == 0 {
		t.Fatalf("plugin exited 0, want a CNI error; stdout %q", r.stdout)
	}
	var e struct {
		Code    uint   `json:"code"`
		Msg     string `json:"msg"`
		Details string `json:"details"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &e); err != nil {
		t.Fatalf("decode CNI error from stdout %q: %v", r.stdout, err)
	}
	return e.Code, e.Msg, e.Details
}
