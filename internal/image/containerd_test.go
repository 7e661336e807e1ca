package image

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestImportIntoContainerd checks that containerd accepts what WriteFile
// writes: it starts a private containerd, imports an image of netcheck with
// ctr and runs it through the image's entrypoint and cmd.
func TestImportIntoContainerd(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to run containerd")
	}
	for _, tool := range []string{"containerd", "ctr", "containerd-shim-runc-v2", "runc", "go"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("needs %s on PATH: %v", tool, err)
		}
	}
	dir := t.TempDir()
	ctd := startContainerd(t, dir, "sbh1-"+randomHex(t))
	bin := buildNetcheck(t, dir)

	ref := "switchboard.local/" + ctd.namespace + "/netcheck:v1"
	spec := Spec{
		Ref:        ref,
		Files:      []File{{Path: "/usr/local/bin/netcheck", Source: bin}},
		Symlinks:   map[string]string{"/bin/netcheck": "/usr/local/bin/netcheck"},
		Entrypoint: []string{"/bin/netcheck"},
		Cmd:        []string{"version"},
		WorkingDir: "/usr/local",
	}
	archive := filepath.Join(dir, "netcheck.tar")
	if err := WriteFile(spec, archive); err != nil {
		t.Fatalf("WriteFile: %v", err)
	}
	ctd.ctr(t, 30*time.Second, "images", "import", archive)
	if out := ctd.ctr(t, 5*time.Second, "images", "ls", "-q"); !strings.Contains(out, ref) {
		t.Fatalf("ctr images ls after import lacks %q:\n%s", ref, out)
	}
	out := ctd.ctr(t, 30*time.Second, "run", "--rm",
		"--runc-root", filepath.Join(dir, "runc"), "--fifo-dir", filepath.Join(dir, "fifo"),
		ref, ctd.container)
	if !strings.HasPrefix(out, "netcheck ") {
		t.Errorf("ctr run %s printed %q, want the output of netcheck version", ref, out)
	}
}

func randomHex(t *testing.T) string {
	b := make([]byte, 4)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

// buildNetcheck builds a static netcheck binary into dir.
func buildNetcheck(t *testing.T, dir string) string {
	t.Helper()
	bin := filepath.Join(dir, "netcheck")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, "switchboard/cmd/netcheck")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build netcheck: %v\n%s", err, out)
	}
	return bin
}

// containerd is a private containerd daemon for one test.
type containerd struct {
	dir       string // holds root, state, socket, config and log
	socket    string
	namespace string // also the per-run prefix of global names
	container string
	cmd       *exec.Cmd
	exited    chan struct{}
}

// config keeps the daemon small: no CRI, and no opt plugin writing to /opt.
const containerdConfig = `version = 2
disabled_plugins = ["io.containerd.grpc.v1.cri", "io.containerd.internal.v1.opt"]
`

// startContainerd starts containerd with everything it owns under dir and
// registers its teardown. prefix names the namespace and the container.
func startContainerd(t *testing.T, dir, prefix string) *containerd {
	t.Helper()
	c := &containerd{
		dir:       dir,
		socket:    filepath.Join(dir, "containerd.sock"),
		namespace: prefix,
		container: prefix + "-netcheck",
		exited:    make(chan struct{}),
	}
	config := filepath.Join(dir, "config.toml")
	if err := os.WriteFile(config, []byte(containerdConfig), 0o644); err != nil {
		t.Fatal(err)
	}
	logFile, err := os.Create(filepath.Join(dir, "containerd.log"))
	if err != nil {
		t.Fatal(err)
	}
	defer logFile.Close()
	runDirs := newDirs("/run/containerd", "/run/containerd/s", "/run/containerd/fifo", "/run/containerd/runc")
	c.cmd = exec.Command("containerd", "--config", config, "--address", c.socket,
		"--root", filepath.Join(dir, "root"), "--state", filepath.Join(dir, "state"))
	c.cmd.Stdout, c.cmd.Stderr = logFile, logFile
	if err := c.cmd.Start(); err != nil {
		t.Fatalf("start containerd: %v", err)
	}
	go func() { c.cmd.Wait(); close(c.exited) }()
	t.Cleanup(func() { c.teardown(t, runDirs) })
	c.waitReady(t)
	return c
}

// waitReady polls the daemon until it answers or gives up.
func (c *containerd) waitReady(t *testing.T) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		select {
		case <-c.exited:
			t.Fatalf("containerd exited at startup: %v", c.cmd.ProcessState)
		default:
		}
		out, err := exec.Command("ctr", "--address", c.socket, "--timeout", "1s", "version").CombinedOutput()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("containerd not ready after 10s: %v\n%s", err, out)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// ctr runs ctr against the daemon in the test namespace and returns its
// output, failing the test on error.
func (c *containerd) ctr(t *testing.T, timeout time.Duration, args ...string) string {
	t.Helper()
	out, err := c.ctrErr(timeout, args...)
	if err != nil {
		t.Fatalf("ctr %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

func (c *containerd) ctrErr(timeout time.Duration, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	base := []string{"--address", c.socket, "--namespace", c.namespace}
	out, err := exec.CommandContext(ctx, "ctr", append(base, args...)...).CombinedOutput()
	return string(out), err
}
