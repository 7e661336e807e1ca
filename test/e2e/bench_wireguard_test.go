//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"switchboard/internal/lab"
)

// The peer of the encrypted inter-cluster path: a WireGuard tunnel made by
// hand with Debian's wireguard-go and wg (make deps installs them) between
// the two gateway nodes' namespaces, beside the edges' own sbwg0.

// handWGNet holds the hand-made tunnel's addresses: a private /30 that the
// lab does not use (internal/lab/topology.go: 10.10+i/16 pods, 10.96+i/16
// services, 198.18/15 underlays and WAN).
const handWGNet = "172.30.251.%d"

// handWGPort is the first hand-made side's UDP port on the WAN, the second's
// is the next one; both away from the edges' 51820.
const handWGPort = 51901

// handWireGuard makes the tunnel between n1 and n2 (their WAN addresses as
// endpoints), waits until n1 reaches n2 through it, and returns n2's
// address in it. Everything it makes (wireguard-go processes, interfaces,
// control sockets, key files) is removed in b.Cleanup, even when it fails
// half-way.
func (h *hostNets) handWireGuard(n1, n2 lab.Node) string {
	h.b.Helper()
	for _, tool := range []string{"wireguard-go", "wg"} {
		if _, err := exec.LookPath(tool); err != nil {
			h.b.Fatalf("%s is not installed: run make deps (or apt-get install wireguard-go wireguard-tools)", tool)
		}
	}
	suffix := make([]byte, 2)
	_, _ = rand.Read(suffix)
	dir := h.b.TempDir()
	nodes := []lab.Node{n1, n2}
	names := make([]string, 2)
	pubs := make([]string, 2)
	for i, n := range nodes {
		// wireguard-go's control sockets share /var/run/wireguard across
		// namespaces: the names are unique per run.
		names[i] = fmt.Sprintf("sbbnw%c%s", 'a'+i, hex.EncodeToString(suffix))
		key := filepath.Join(dir, names[i]+".key")
		priv := h.output(nil, "wg", "genkey")
		if err := os.WriteFile(key, priv, 0o600); err != nil {
			h.b.Fatal(err)
		}
		pubs[i] = strings.TrimSpace(string(h.output(priv, "wg", "pubkey")))
		h.startWireGuardGo(n.NetNS, names[i], filepath.Join(dir, names[i]+".log"))
	}
	for i, n := range nodes {
		other := nodes[1-i]
		h.sh(fmt.Sprintf(`
ip netns exec %[1]s wg set %[2]s private-key %[3]s listen-port %[4]d peer %[5]s endpoint %[6]s:%[7]d allowed-ips %[8]s/32
ip -n %[1]s addr add %[9]s/30 dev %[2]s
ip -n %[1]s link set %[2]s up
`, n.NetNS, names[i], filepath.Join(dir, names[i]+".key"), handWGPort+i, pubs[1-i], other.WANIP, handWGPort+1-i,
			fmt.Sprintf(handWGNet, 2-i), fmt.Sprintf(handWGNet, i+1)))
	}
	dst := fmt.Sprintf(handWGNet, 2)
	ping := h.inNS(n1.NetNS)
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		if _, err := ping(context.Background(), "ping", "-c", "1", "-W", "1", dst); err == nil {
			return dst
		}
		if time.Now().After(deadline) {
			h.b.Fatalf("the hand-made WireGuard tunnel %s -> %s does not answer ping within 30 s", names[0], dst)
		}
	}
}

// edgeTunnelAddr returns the tunnel address of the edge's WireGuard
// interface, sbwg0, in node namespace ns: the address the edges' inner
// VXLAN runs between (docs/inter-cluster.md).
func (h *hostNets) edgeTunnelAddr(ns string) string {
	h.b.Helper()
	out := h.output(nil, "ip", "-n", ns, "-6", "-o", "addr", "show", "dev", "sbwg0", "scope", "global")
	f := strings.Fields(string(out)) // 7: sbwg0    inet6 fd…/64 scope global …
	for i := range f[:max(len(f)-1, 0)] {
		if f[i] == "inet6" {
			addr, _, _ := strings.Cut(f[i+1], "/")
			return addr
		}
	}
	h.b.Fatalf("no global IPv6 address on sbwg0 in %s: is the edge running with WireGuard?\n%s", ns, out)
	return ""
}

// output runs argv with stdin and returns its standard output.
func (h *hostNets) output(stdin []byte, argv ...string) []byte {
	h.b.Helper()
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Stdin = bytes.NewReader(stdin)
	out, err := cmd.Output()
	if err != nil {
		h.b.Fatalf("%s: %v", strings.Join(argv, " "), err)
	}
	return out
}

// startWireGuardGo runs wireguard-go in the foreground for interface name
// in namespace ns, its output to logFile, and waits for its control
// socket. b.Cleanup stops the process and removes the interface and the
// socket.
func (h *hostNets) startWireGuardGo(ns, name, logFile string) {
	h.b.Helper()
	sock := "/var/run/wireguard/" + name + ".sock"
	log, err := os.Create(logFile)
	if err != nil {
		h.b.Fatal(err)
	}
	defer log.Close()
	cmd := exec.Command("ip", "netns", "exec", ns, "wireguard-go", "-f", name)
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		h.b.Fatalf("start wireguard-go in %s: %v", ns, err)
	}
	h.b.Cleanup(func() {
		_ = cmd.Process.Kill() // ip netns exec execs wireguard-go: this is its process
		_ = cmd.Wait()
		_ = exec.Command("ip", "-n", ns, "link", "del", name).Run() // gone with the process already, normally
		_ = os.Remove(sock)
	})
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		_, err := os.Stat(sock)
		if err == nil {
			return
		}
		if !errors.Is(err, fs.ErrNotExist) || time.Now().After(deadline) {
			out, _ := os.ReadFile(logFile)
			h.b.Fatalf("wireguard-go in %s made no control socket %s: %v\n%s", ns, sock, err, out)
		}
	}
}
