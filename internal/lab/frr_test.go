package lab

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestFabricRoutesTheClient builds a lab's networks and fabric (no
// Kubernetes: namespaces, links, FRR) under a throwaway name, and checks
// the plumbing that `lab up --frr` relies on: FRR answers vtysh in its
// directory with the planned configuration, the client reaches a node
// through FRR (client → router → node network) and the node answers
// through it (its route to the client network); Down's teardown removes
// it all, FRR included.
func TestFabricRoutesTheClient(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root: creates network namespaces and cgroups")
	}
	if _, err := os.Stat(filepath.Join(FRRDaemons, "bgpd")); err != nil {
		t.Skipf("needs FRR (apt-get install frr): %v", err)
	}
	b := make([]byte, 2)
	_, _ = rand.Read(b)
	name := "sbbg" + hex.EncodeToString(b)
	topo, err := Plan(name, 1, 2)
	if err != nil {
		t.Fatal(err)
	}
	// Not t.TempDir: its parents are private, and FRR runs as the frr user.
	dir, err := os.MkdirTemp("", name+"-lab-")
	if err == nil {
		err = os.Chmod(dir, 0o755)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	st, err := newState(dir, name, 1, 2)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(dir, "logs"), 0o755); err != nil {
		t.Fatal(err)
	}
	l := &lab{cfg: Config{Name: name, FRR: true}, topo: topo, dir: dir, state: st, p: newProgress(nil)}
	t.Cleanup(func() {
		if err := teardown(context.Background(), dir, st, l.p, false); err != nil {
			t.Errorf("teardown: %v", err)
		}
		for _, ns := range topo.NetNSes() {
			if _, err := os.Stat(netnsPath(ns)); err == nil {
				t.Errorf("namespace %s left behind", ns)
			}
		}
	})
	if err := st.update(func(r *record) { r.Cgroups = []string{name} }); err != nil {
		t.Fatal(err)
	}
	if err := createCgroup(name); err != nil {
		t.Fatal(err)
	}
	if err := l.makeNetworks(); err != nil {
		t.Fatal(err)
	}
	if err := l.upFabric(); err != nil {
		t.Fatal(err)
	}
	c := topo.Clusters[0]
	f := topo.Fabric(dir, c)

	var table struct { // "summary" is empty while no session is up
		AS       int    `json:"localAS"`
		RouterID string `json:"routerId"`
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		out, err := exec.Command("vtysh", "--vty_socket", f.VtyDir, "-c", "show bgp ipv4 unicast json").CombinedOutput()
		if err == nil && json.Unmarshal(out, &table) == nil && table.AS != 0 {
			break
		}
		if time.Now().After(deadline) {
			logs, _ := os.ReadFile(filepath.Join(dir, "logs", c.Name+"-frr-bgpd.log"))
			t.Fatalf("FRR of %s does not answer vtysh: %v: %s\nbgpd log:\n%s", f.RouterNetNS, err, out, logs)
		}
		time.Sleep(200 * time.Millisecond)
	}
	if table.AS != FRRASN || table.RouterID != f.RouterIP.String() {
		t.Errorf("FRR runs AS %d router-id %s, want %d %s", table.AS, table.RouterID, FRRASN, f.RouterIP)
	}
	for _, n := range c.Nodes {
		out, err := exec.Command("ip", "netns", "exec", f.ClientNetNS, "ping", "-n", "-c", "2", "-W", "2", n.IP.String()).CombinedOutput()
		if err != nil {
			t.Errorf("client %s -> node %s through FRR: %v\n%s", f.ClientIP, n.IP, err, out)
		}
		if !strings.Contains(string(out), " 0% packet loss") {
			t.Errorf("client %s -> node %s: %s", f.ClientIP, n.IP, out)
		}
	}
}
