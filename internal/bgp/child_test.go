package bgp

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/netip"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"

	"switchboard/internal/netnstest"
)

// A speaker under test runs in its own process inside a node's namespace
// (a Go program's threads cannot all be moved into a namespace, and GoBGP
// dials from whichever thread runs it), and killing that process is an
// agent dying. The test binary is that process when childEnv is set: it
// reads Configs, one JSON line each, from stdin, applies them with Set and
// answers "ok" or "error: ..." on stdout. At EOF it exits without a word
// to its peers, as an agent does; "stop" ends the sessions first.
const childEnv = "SWITCHBOARD_BGP_TEST_SPEAKER"

func TestMain(m *testing.M) {
	if id := os.Getenv(childEnv); id != "" {
		os.Exit(runChild(id, os.Stdin, os.Stdout))
	}
	os.Exit(m.Run())
}

func runChild(routerID string, in io.Reader, out io.Writer) int {
	ctx := context.Background()
	s, err := NewSpeaker(ctx, Options{RouterID: netip.MustParseAddr(routerID)})
	if err != nil {
		fmt.Fprintln(out, "error:", err)
		return 1
	}
	sc := bufio.NewScanner(in)
	for sc.Scan() {
		if sc.Text() == "stop" {
			s.Stop()
			fmt.Fprintln(out, "ok")
			return 0
		}
		if sc.Text() == "rib" {
			rib, err := s.RIB()
			b, _ := json.Marshal(rib)
			if err != nil {
				fmt.Fprintln(out, "error:", err)
				continue
			}
			fmt.Fprintln(out, string(b))
			continue
		}
		var cfg Config
		if err := json.Unmarshal(sc.Bytes(), &cfg); err != nil {
			fmt.Fprintln(out, "error:", err)
			continue
		}
		if err := s.Set(ctx, cfg); err != nil {
			fmt.Fprintln(out, "error:", strings.ReplaceAll(err.Error(), "\n", "; "))
			continue
		}
		fmt.Fprintln(out, "ok")
	}
	return 0
}

// child is a speaker process in a namespace.
type child struct {
	cmd *exec.Cmd
	in  io.WriteCloser
	out *bufio.Scanner
}

// startSpeaker runs a speaker process in ns with routerID; t.Cleanup
// kills it.
func startSpeaker(t *testing.T, ns *netnstest.NS, routerID string) *child {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := ns.Command(self)
	cmd.Env = append(os.Environ(), childEnv+"="+routerID)
	cmd.Stderr = os.Stderr
	in, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	c := &child{cmd: cmd, in: in, out: bufio.NewScanner(stdout)}
	t.Cleanup(c.kill)
	return c
}

// set applies cfg in the speaker process and fails the test on an error.
func (c *child) set(t *testing.T, cfg Config) {
	t.Helper()
	b, err := json.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.in.Write(append(b, '\n')); err != nil {
		t.Fatalf("send config to speaker: %v", err)
	}
	if !c.out.Scan() {
		t.Fatalf("speaker ended: %v", c.out.Err())
	}
	if got := c.out.Text(); got != "ok" {
		t.Fatalf("speaker Set: %s", got)
	}
}

// kill ends the speaker process at once (SIGKILL): the agent died.
func (c *child) kill() {
	if c.cmd.ProcessState != nil {
		return
	}
	_ = c.cmd.Process.Signal(syscall.SIGKILL)
	_ = c.cmd.Wait()
}

// rib returns the speaker process's global table.
func (c *child) rib(t *testing.T) []netip.Prefix {
	t.Helper()
	if _, err := io.WriteString(c.in, "rib\n"); err != nil {
		t.Fatal(err)
	}
	if !c.out.Scan() {
		t.Fatalf("speaker ended: %v", c.out.Err())
	}
	var out []netip.Prefix
	if err := json.Unmarshal(c.out.Bytes(), &out); err != nil {
		t.Fatalf("speaker rib: %s", c.out.Text())
	}
	return out
}
