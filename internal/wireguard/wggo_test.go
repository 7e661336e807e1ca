package wireguard

import (
	"bufio"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"io/fs"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"switchboard/internal/netnstest"

	"golang.zx2c4.com/wireguard/wgctrl/wgtypes"
)

// A peer made by hand with Debian's wireguard-go and wg, the reference the
// engine is compared with.

// requireTools fails, naming the fix, when a tool the test needs is not
// installed (make deps installs them).
func requireTools(t testing.TB, tools ...string) {
	t.Helper()
	for _, tool := range tools {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s is not installed: run make deps (or apt-get install wireguard-go wireguard-tools iperf3)", tool)
		}
	}
}

// wgGo is a wireguard-go process serving one interface in a namespace.
type wgGo struct {
	ns      *netnstest.NS
	name    string // unique per run: wireguard-go's control sockets share /var/run/wireguard across namespaces
	keyFile string
}

// startWireGuardGo runs Debian's wireguard-go in ns in the foreground with a
// fresh key, listening on testPort, and stops it in t.Cleanup.
func startWireGuardGo(t testing.TB, ns *netnstest.NS) *wgGo {
	t.Helper()
	requireTools(t, "wireguard-go", "wg")
	b := make([]byte, 2)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	w := &wgGo{ns: ns, name: "sbwg" + hex.EncodeToString(b) + "g", keyFile: filepath.Join(t.TempDir(), "wg-go.key")}
	if _, err := LoadOrCreateKey(w.keyFile); err != nil {
		t.Fatal(err)
	}
	cmd := ns.Command("wireguard-go", "-f", w.name)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = cmd.Stdout
	if err := cmd.Start(); err != nil {
		t.Fatalf("start wireguard-go: %v", err)
	}
	var log strings.Builder
	done := make(chan struct{})
	go func() {
		defer close(done)
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			log.WriteString(sc.Text() + "\n")
		}
	}()
	sock := "/var/run/wireguard/" + w.name + ".sock"
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
		_ = cmd.Wait()
		_ = os.Remove(sock)
	})
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if _, err := os.Stat(sock); err == nil {
			break
		} else if !errors.Is(err, fs.ErrNotExist) || time.Now().After(deadline) {
			t.Fatalf("wireguard-go made no control socket %s: %v\n%s", sock, err, log.String())
		}
	}
	return w
}

func (w *wgGo) pub(t testing.TB) wgtypes.Key {
	t.Helper()
	k, err := LoadOrCreateKey(w.keyFile)
	if err != nil {
		t.Fatal(err)
	}
	return k.PublicKey()
}

// set configures the device as a user would: wg set, ip addr, ip link.
func (w *wgGo) set(t testing.TB, peer wgtypes.Key, endpoint netip.AddrPort) {
	t.Helper()
	steps := [][]string{
		{"wg", "set", w.name, "private-key", w.keyFile, "listen-port", strconv.Itoa(testPort),
			"peer", peer.String(), "endpoint", endpoint.String(), "allowed-ips", tunnelHost(peer).String()},
		{"ip", "link", "set", w.name, "mtu", strconv.Itoa(testMTU)},
		{"ip", "addr", "add", netip.PrefixFrom(TunnelAddress(w.pub(t)), 64).String(), "dev", w.name, "nodad"},
		{"ip", "link", "set", w.name, "up"},
	}
	for _, s := range steps {
		if out, err := w.ns.Exec(s...); err != nil {
			t.Fatalf("%s in %s: %v: %s", strings.Join(s, " "), w.ns.Name, err, out)
		}
	}
}
