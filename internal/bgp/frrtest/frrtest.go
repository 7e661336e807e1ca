// Package frrtest runs a real FRR router (Debian's frr package: zebra and
// bgpd) inside a test's network namespace, and reads FRR's own view of
// its BGP table and sessions through vtysh, as JSON. Each router has its
// own directory for config, pid files and vty sockets (vtysh --vty_socket
// finds the daemons there), so routers of parallel tests never meet; the
// daemons are killed in t.Cleanup. Tests that use it need root and frr.
package frrtest

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"switchboard/internal/netnstest"
)

// Daemons is where Debian's frr package puts zebra and bgpd.
const Daemons = "/usr/lib/frr"

// Require skips the test unless FRR's daemons and vtysh are installed.
func Require(t testing.TB) {
	t.Helper()
	for _, p := range []string{filepath.Join(Daemons, "bgpd"), filepath.Join(Daemons, "zebra")} {
		if _, err := os.Stat(p); err != nil {
			t.Skipf("needs FRR (apt-get install frr): %v", err)
		}
	}
	if _, err := exec.LookPath("vtysh"); err != nil {
		t.Skipf("needs FRR's vtysh (apt-get install frr): %v", err)
	}
}

// Router is one FRR instance in a namespace.
type Router struct {
	NS  *netnstest.NS
	Dir string // config, logs, pid files and vty sockets
}

// Start runs zebra and bgpd in ns with bgpConf as bgpd's configuration
// (FRR syntax), and waits until vtysh answers. The daemons run as the frr
// user, as Debian runs them; t.Cleanup kills them.
func Start(t testing.TB, ns *netnstest.NS, bgpConf string) *Router {
	t.Helper()
	Require(t)
	dir, err := os.MkdirTemp("", ns.Name+"-frr-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	r := &Router{NS: ns, Dir: dir}
	if err := r.own(); err != nil {
		t.Fatal(err)
	}
	write := func(name, text string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("zebra.conf", "hostname "+ns.Name+"\n")
	write("bgpd.conf", bgpConf)
	for _, d := range []string{"zebra", "bgpd"} {
		args := []string{filepath.Join(Daemons, d), "-d", "-u", "frr", "-g", "frr",
			"--vty_socket", dir, "-z", filepath.Join(dir, "zserv.api"),
			"-i", filepath.Join(dir, d+".pid"), "-f", filepath.Join(dir, d+".conf"),
			"-P", "0", "--log", "file:" + filepath.Join(dir, d+".log")}
		if out, err := ns.Exec(args...); err != nil {
			t.Fatalf("start FRR %s in %s: %v: %s%s", d, ns.Name, err, out, r.Log(d))
		}
		t.Cleanup(func() { r.kill(d) })
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		if _, err := r.vtysh("show bgp summary json"); err == nil {
			return r
		} else if time.Now().After(deadline) {
			t.Fatalf("FRR in %s does not answer vtysh: %v\n%s", ns.Name, err, r.Log("bgpd"))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// own gives the frr user the router's directory (the daemons write their
// pid files and sockets there after dropping privileges).
func (r *Router) own() error {
	u, err := user.Lookup("frr")
	if err != nil {
		return fmt.Errorf("the frr user (from Debian's frr package): %w", err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	return os.Chown(r.Dir, uid, gid)
}

func (r *Router) kill(daemon string) {
	b, err := os.ReadFile(filepath.Join(r.Dir, daemon+".pid"))
	if err != nil {
		return
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pid <= 1 {
		return
	}
	_ = syscall.Kill(pid, syscall.SIGKILL)
}

// Log returns a daemon's log ("zebra" or "bgpd"), for failure messages.
func (r *Router) Log(daemon string) string {
	b, _ := os.ReadFile(filepath.Join(r.Dir, daemon+".log"))
	return string(b)
}

// vtysh runs one vtysh command against this router.
func (r *Router) vtysh(cmd string) ([]byte, error) {
	out, err := exec.Command("vtysh", "--vty_socket", r.Dir, "-c", cmd).CombinedOutput()
	if err != nil {
		return nil, fmt.Errorf("vtysh -c %q: %w: %s", cmd, err, out)
	}
	return out, nil
}

// JSON runs a vtysh command that ends in "json" and decodes its answer.
func (r *Router) JSON(t testing.TB, cmd string, into any) {
	t.Helper()
	out, err := r.vtysh(cmd)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(out, into); err != nil {
		t.Fatalf("vtysh -c %q: decode %q: %v", cmd, out, err)
	}
}

// Path is one path of a prefix in FRR's BGP table.
type Path struct {
	Valid    bool   `json:"valid"`
	Best     bool   `json:"bestpath"`
	Stale    bool   `json:"stale"`
	PeerID   string `json:"peerId"`
	NextHops []struct {
		IP string `json:"ip"`
	} `json:"nexthops"`
}

// NextHop returns the path's first next hop.
func (p Path) NextHop() string {
	if len(p.NextHops) == 0 {
		return ""
	}
	return p.NextHops[0].IP
}

// Table returns FRR's BGP table of family ("ipv4" or "ipv6" unicast):
// prefix → paths.
func (r *Router) Table(t testing.TB, family string) map[string][]Path {
	t.Helper()
	var v struct {
		Routes map[string][]Path `json:"routes"`
	}
	r.JSON(t, "show bgp "+family+" unicast json", &v)
	return v.Routes
}

// Communities returns the communities ("64512:100 ...") of prefix's paths,
// by next hop.
func (r *Router) Communities(t testing.TB, family, prefix string) map[string]string {
	t.Helper()
	var v struct {
		Paths []struct {
			Community struct {
				String string `json:"string"`
			} `json:"community"`
			NextHops []struct {
				IP string `json:"ip"`
			} `json:"nexthops"`
		} `json:"paths"`
	}
	r.JSON(t, "show bgp "+family+" unicast "+prefix+" json", &v)
	out := map[string]string{}
	for _, p := range v.Paths {
		if len(p.NextHops) > 0 {
			out[p.NextHops[0].IP] = p.Community.String
		}
	}
	return out
}

// PrefixesSent returns how many prefixes of family ("ipv4" or "ipv6"
// unicast) FRR has sent to peer.
func (r *Router) PrefixesSent(t testing.TB, family, peer string) int {
	t.Helper()
	var v struct {
		Peers map[string]struct {
			Sent int `json:"pfxSnt"`
		} `json:"peers"`
	}
	r.JSON(t, "show bgp "+family+" unicast summary json", &v)
	return v.Peers[peer].Sent
}

// Neighbor is one session as FRR sees it.
type Neighbor struct {
	State string `json:"bgpState"` // "Established", "Active", ...
	// ConnectionsEstablished counts the session's establishments: it
	// stays put while routes change live.
	ConnectionsEstablished int `json:"connectionsEstablished"`
}

// Neighbors returns FRR's sessions by neighbour address.
func (r *Router) Neighbors(t testing.TB) map[string]Neighbor {
	t.Helper()
	v := map[string]Neighbor{}
	r.JSON(t, "show bgp neighbors json", &v)
	return v
}

// WaitFor polls cond (which reads FRR's view) until it holds, failing
// the test with what was last seen after timeout. It is for what takes
// time (a session to come up, an update to arrive), never to time it.
func (r *Router) WaitFor(t testing.TB, what string, timeout time.Duration, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		ok, seen := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("FRR in %s: %s: not within %s; last seen: %s\nbgpd log:\n%s", r.NS.Name, what, timeout, seen, tail(r.Log("bgpd"), 30))
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// MD5Failures returns the kernel's count of TCP segments dropped in the
// router's namespace for a missing or wrong MD5 signature (TcpExt
// TCPMD5Failure + TCPMD5NotFound + TCPMD5Unexpected): proof that the
// kernel, not just FRR, checks the session's password.
func (r *Router) MD5Failures(t testing.TB) int {
	t.Helper()
	return r.tcpExt(t, "TCPMD5")
}

// MinTTLDrops returns the kernel's count of TCP segments dropped in the
// router's namespace for a TTL below the socket's minimum (GTSM).
func (r *Router) MinTTLDrops(t testing.TB) int {
	t.Helper()
	return r.tcpExt(t, "TCPMinTTLDrop")
}

// tcpExt sums the router namespace's TcpExt counters named with prefix.
func (r *Router) tcpExt(t testing.TB, prefix string) int {
	t.Helper()
	out, err := r.NS.Exec("cat", "/proc/net/netstat")
	if err != nil {
		t.Fatalf("read /proc/net/netstat in %s: %v: %s", r.NS.Name, err, out)
	}
	lines := strings.Split(out, "\n")
	total := 0
	for i := 0; i+1 < len(lines); i++ {
		names, values := strings.Fields(lines[i]), strings.Fields(lines[i+1])
		if len(names) == 0 || names[0] != "TcpExt:" || len(values) != len(names) || values[0] != "TcpExt:" {
			continue
		}
		for j, n := range names {
			if strings.HasPrefix(n, prefix) {
				v, _ := strconv.Atoi(values[j])
				total += v
			}
		}
	}
	return total
}
