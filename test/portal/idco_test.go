package portal_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"flag"

	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

var (
	binDir      = flag.String("bin", "", "directory with switchboard and switchboard-idco (default: go build them)")
	screenshots = flag.String("screenshots", "", "write screenshots of the portal's pages to this directory")
)

// idcoProcess is a real switchboard-idco serving on loopback, with its
// certificate directory and an admin's.
type idcoProcess struct {
	t              *testing.T
	bin, dir       string
	url, admin, ca string
	cmd            *exec.Cmd
}

// binaries returns the directory holding switchboard and switchboard-idco,
// building them when -bin is not given.
func binaries(t *testing.T) string {
	t.Helper()
	if *binDir != "" {
		return *binDir
	}
	out := t.TempDir()
	for _, pkg := range []string{"switchboard", "switchboard-idco"} {
		cmd := exec.Command("go", "build", "-o", filepath.Join(out, pkg), "switchboard/cmd/"+pkg)
		if b, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("go build %s: %v\n%s", pkg, err, b)
		}
	}
	return out
}

// run runs one of the binaries and returns its standard output.
func run(t *testing.T, bin string, args ...string) string {
	t.Helper()
	var stdout, stderr bytes.Buffer
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s %s: %v\n%s", filepath.Base(bin), strings.Join(args, " "), err, stderr.String())
	}
	return stdout.String()
}

// startIDCO makes the IDCO's certificates, an admin's and a cluster's, and
// runs "switchboard-idco serve" on a free loopback port until the test
// ends.
func startIDCO(t *testing.T, bin string) *idcoProcess {
	t.Helper()
	root := t.TempDir()
	p := &idcoProcess{t: t, bin: bin, dir: filepath.Join(root, "idco"), admin: filepath.Join(root, "admin")}
	p.ca = filepath.Join(p.dir, "ca.crt")
	idco := filepath.Join(bin, "switchboard-idco")
	run(t, idco, "init", "--dir", p.dir, "--host", "127.0.0.1")
	run(t, idco, "enrol", "--dir", p.dir, "--admin", "root", "--out", p.admin)
	run(t, idco, "enrol", "--dir", p.dir, "--cluster", "east", "--out", filepath.Join(root, "east"))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	p.url = "https://" + addr
	p.cmd = exec.Command(idco, "serve", "--dir", p.dir, "--listen", addr)
	logf, err := os.Create(filepath.Join(root, "idco.log"))
	if err != nil {
		t.Fatal(err)
	}
	p.cmd.Stdout, p.cmd.Stderr = logf, logf
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		p.cmd.Process.Signal(os.Interrupt)
		p.cmd.Wait()
		logf.Close()
		if t.Failed() {
			b, _ := os.ReadFile(logf.Name())
			t.Logf("IDCO log:\n%s", b)
		}
	})
	p.waitHealthy()
	return p
}

func (p *idcoProcess) waitHealthy() {
	p.t.Helper()
	pem, err := os.ReadFile(p.ca)
	if err != nil {
		p.t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pem)
	hc := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	for ctx.Err() == nil {
		resp, err := hc.Get(p.url + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	p.t.Fatalf("the IDCO at %s did not answer /healthz within 60s", p.url)
}

// adminCLI runs "switchboard-idco admin ARGS" with the admin certificate.
func (p *idcoProcess) adminCLI(args ...string) string {
	p.t.Helper()
	return run(p.t, filepath.Join(p.bin, "switchboard-idco"), append([]string{"admin", "--server", p.url, "--certs", p.admin}, args...)...)
}

var linkLine = regexp.MustCompile(`https://\S+/portal/login/link/\S+`)

// loginLink runs "switchboard portal login" and returns the link it
// printed.
func (p *idcoProcess) loginLink(user, keys string) string {
	p.t.Helper()
	out := run(p.t, filepath.Join(p.bin, "switchboard"), "portal", "login", "--server", p.url, "--ca", p.ca, "--user", user,
		"--key", filepath.Join(keys, user+".key"))
	link := linkLine.FindString(out)
	if link == "" {
		p.t.Fatalf("switchboard portal login printed no link: %q", out)
	}
	return link
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
