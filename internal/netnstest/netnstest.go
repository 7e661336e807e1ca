// Package netnstest builds throwaway network namespaces for kernel tests:
// named with a per-test random prefix, connected by veth links, and removed
// in t.Cleanup even when the test fails. Tests that use it need root.
package netnstest

import (
	"bufio"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/containernetworking/plugins/pkg/ns"
	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
)

// RequireRoot skips the test unless it runs as root.
func RequireRoot(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root: creates network namespaces")
	}
}

// Env names the namespaces of one test: "<kind><4 hex>-<name>", e.g.
// "sbdp1a2b-a".
type Env struct {
	t      testing.TB
	prefix string
}

// New returns an Env whose namespaces start with "sbdp" and a fresh random
// suffix; it skips the test unless it runs as root.
func New(t testing.TB) *Env {
	t.Helper()
	return NewPrefixed(t, "sbdp")
}

// NewPrefixed is New with the namespaces starting with kind (e.g. "sbe")
// instead of "sbdp", so that each package's tests are recognisable.
func NewPrefixed(t testing.TB, kind string) *Env {
	t.Helper()
	RequireRoot(t)
	b := make([]byte, 2)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return &Env{t: t, prefix: kind + hex.EncodeToString(b) + "-"}
}

// NS is a named network namespace under /run/netns.
type NS struct {
	Name string
	Path string
}

// NS creates the namespace prefix+name with loopback up; t.Cleanup deletes
// it (and so every link in it).
func (e *Env) NS(name string) *NS {
	e.t.Helper()
	full := e.prefix + name
	if out, err := exec.Command("ip", "netns", "add", full).CombinedOutput(); err != nil {
		e.t.Fatalf("create network namespace %q: %v: %s", full, err, out)
	}
	n := &NS{Name: full, Path: filepath.Join("/run/netns", full)}
	e.t.Cleanup(func() {
		if err := n.Delete(); err != nil {
			e.t.Error(err)
		}
	})
	h := n.Handle(e.t)
	lo, err := h.LinkByName("lo")
	if err == nil {
		err = h.LinkSetUp(lo)
	}
	if err != nil {
		e.t.Fatalf("set lo up in %q: %v", full, err)
	}
	return n
}

// Delete removes the namespace; one already gone is fine.
func (n *NS) Delete() error {
	if _, err := os.Stat(n.Path); os.IsNotExist(err) {
		return nil
	}
	if out, err := exec.Command("ip", "netns", "delete", n.Name).CombinedOutput(); err != nil {
		return fmt.Errorf("delete network namespace %q: %w: %s", n.Name, err, out)
	}
	return nil
}

// Handle returns a netlink handle bound to the namespace, closed by
// t.Cleanup.
func (n *NS) Handle(t testing.TB) *netlink.Handle {
	t.Helper()
	fd, err := netns.GetFromPath(n.Path)
	if err != nil {
		t.Fatalf("open network namespace %q: %v", n.Name, err)
	}
	defer fd.Close()
	h, err := netlink.NewHandleAt(fd)
	if err != nil {
		t.Fatalf("open netlink in %q: %v", n.Name, err)
	}
	t.Cleanup(h.Close)
	return h
}

// Do runs f with the calling goroutine's thread inside the namespace (for
// sockets: they stay in the namespace they were made in).
func (n *NS) Do(f func() error) error {
	return ns.WithNetNSPath(n.Path, func(ns.NetNS) error { return f() })
}

// End is one end of a veth link.
type End struct {
	NS   *NS
	Name string
	Addr netip.Prefix // optional
	MTU  int          // optional
}

// Veth links a and b with a veth pair and brings both ends up.
func Veth(t testing.TB, a, b End) {
	t.Helper()
	bfd, err := netns.GetFromPath(b.NS.Path)
	if err != nil {
		t.Fatalf("open network namespace %q: %v", b.NS.Name, err)
	}
	defer bfd.Close()
	la := netlink.NewLinkAttrs()
	la.Name, la.MTU = a.Name, a.MTU
	v := &netlink.Veth{LinkAttrs: la, PeerName: b.Name, PeerNamespace: netlink.NsFd(bfd), PeerTxQLen: -1}
	if b.MTU != 0 {
		v.PeerMTU = uint32(b.MTU)
	}
	if err := a.NS.Handle(t).LinkAdd(v); err != nil {
		t.Fatalf("add veth %s/%s - %s/%s: %v", a.NS.Name, a.Name, b.NS.Name, b.Name, err)
	}
	for _, e := range []End{a, b} {
		h := e.NS.Handle(t)
		l, err := h.LinkByName(e.Name)
		if err != nil {
			t.Fatal(err)
		}
		if e.Addr.IsValid() {
			if err := h.AddrAdd(l, &netlink.Addr{IPNet: IPNet(e.Addr), Flags: nodad(e.Addr)}); err != nil {
				t.Fatalf("address %s/%s: %v", e.NS.Name, e.Name, err)
			}
		}
		if err := h.LinkSetUp(l); err != nil {
			t.Fatal(err)
		}
	}
}

func nodad(p netip.Prefix) int {
	if p.Addr().Is6() {
		return 0x02 // IFA_F_NODAD
	}
	return 0
}

// IPNet converts a prefix (address and length) to a net.IPNet.
func IPNet(p netip.Prefix) *net.IPNet {
	return &net.IPNet{IP: p.Addr().AsSlice(), Mask: net.CIDRMask(p.Bits(), p.Addr().BitLen())}
}

// Exec runs a command inside the namespace and returns its combined output.
func (n *NS) Exec(args ...string) (string, error) {
	cmd := n.Command(args...)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// Command returns a command that runs inside the namespace.
func (n *NS) Command(args ...string) *exec.Cmd {
	return exec.Command("ip", append([]string{"netns", "exec", n.Name}, args...)...)
}

var pingStats = regexp.MustCompile(`(\d+) packets transmitted, (\d+) (?:packets )?received`)

// ParsePing returns the transmitted and received counts of ping's summary.
func ParsePing(out string) (sent, received int, err error) {
	m := pingStats.FindStringSubmatch(out)
	if m == nil {
		return 0, 0, fmt.Errorf("no ping summary in %q", strings.TrimSpace(out))
	}
	sent, _ = strconv.Atoi(m[1])
	received, _ = strconv.Atoi(m[2])
	return sent, received, nil
}

// Ping sends count pings from the namespace to dst, waiting at most wait
// seconds per reply, and returns how many came back.
func (n *NS) Ping(t testing.TB, dst netip.Addr, count int, wait string) int {
	t.Helper()
	out, _ := n.Exec("ping", "-n", "-q", "-c", strconv.Itoa(count), "-i", "0.2", "-W", wait, dst.String())
	_, got, err := ParsePing(out)
	if err != nil {
		t.Fatalf("ping %s from %s: %v", dst, n.Name, err)
	}
	return got
}

// PingDuring starts count pings at 100/s from the namespace to dst and
// returns once the first reply is in, so that what the test does next
// happens while the ping runs. The returned func waits for the ping to end
// and returns its summary's counts and its output.
func (n *NS) PingDuring(t testing.TB, dst netip.Addr, count int) func() (sent, received int, out string, err error) {
	t.Helper()
	cmd := n.Command("ping", "-n", "-i", "0.01", "-c", strconv.Itoa(count), "-W", "1", dst.String())
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = cmd.Stdout
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill() })
	var buf strings.Builder
	first, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		sc := bufio.NewScanner(stdout)
		answered := false
		for sc.Scan() {
			buf.WriteString(sc.Text() + "\n")
			if !answered && strings.Contains(sc.Text(), "bytes from") {
				answered = true
				close(first)
			}
		}
	}()
	select {
	case <-first:
	case <-done:
		t.Fatalf("ping %s from %s ended without a reply:\n%s", dst, n.Name, buf.String())
	case <-time.After(5 * time.Second):
		t.Fatalf("ping %s from %s: no reply within 5 s", dst, n.Name)
	}
	return func() (int, int, string, error) {
		<-done
		werr := cmd.Wait()
		out := buf.String()
		sent, received, perr := ParsePing(out)
		return sent, received, out, errors.Join(werr, perr)
	}
}
