package main

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"switchboard/internal/cnirpc"
	"switchboard/internal/cnirpc/cnirpctest"
)

// pluginBin is the plugin binary built by TestMain for the exec tests.
var pluginBin string

func TestMain(m *testing.M) {
	os.Exit(buildAndRun(m))
}

// buildAndRun builds the plugin with its runtime directory (the only place
// it looks for the agent's socket) moved to a temporary directory, where
// startAgent puts the tests' fake agents; the tests in this process see the
// same directory.
func buildAndRun(m *testing.M) int {
	dir, err := os.MkdirTemp("", "switchboard-cni-test")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	agents, err := os.MkdirTemp("", "sb") // short: a socket path has at most 108 bytes
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(agents)
	runtimeDir = agents
	pluginBin = filepath.Join(dir, "switchboard-cni")
	build := exec.Command("go", "build", "-ldflags=-X main.runtimeDir="+agents, "-o", pluginBin, "switchboard/cmd/switchboard-cni")
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "build switchboard-cni: %v\n%s", err, out)
		return 1
	}
	return m.Run()
}

// agentSocket returns a new socket path in the plugin's runtime directory.
func agentSocket(t *testing.T) string {
	t.Helper()
	b := make([]byte, 6)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return filepath.Join(runtimeDir, hex.EncodeToString(b)+".sock")
}

// startAgent serves a fake agent in the plugin's runtime directory until the
// test ends (see cnirpctest.Start).
func startAgent(t *testing.T, reply func(cnirpc.Request) *cnirpc.Response) *cnirpctest.Agent {
	t.Helper()
	return cnirpctest.StartAt(t, agentSocket(t), reply)
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
