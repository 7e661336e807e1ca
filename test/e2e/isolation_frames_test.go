//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"maps"
	"net"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"switchboard/internal/lab"
	"switchboard/internal/lab/kube"
	"switchboard/internal/netdev/devname"
)

// rawKinds are the kinds of "netcheck frames", in the order of the log.
var rawKinds = []string{"broadcast", "arp", "nd", "spoof"}

// TestRawFrameIsolation: pods of network blue send, raw on their net1,
// broadcast frames, ARP requests for red's addresses, IPv6 neighbour
// solicitations for red's link-local addresses and unicast frames to red's
// MACs with another red pod's MAC as source; red and blue have the same
// CIDR, so only the data plane keeps them apart. Red's pods, on both
// nodes, receive none of them. Controls: the same commands from red pod1
// reach red's other pods (broadcast and spoof across nodes to pod2; ARP and
// ND to pod3 on pod1's node, since the VXLAN device's proxy keeps them from
// crossing nodes), and blue's broadcasts reach blue's other pod (blue's
// senders work). Then, with red's and blue's bridges on node1 linked by
// hand, blue's frames of every kind do reach red (the test sees a leak).
func TestRawFrameIsolation(t *testing.T) {
	t.Parallel() // own namespace on cluster a; restarts nothing shared (see main_test.go)
	ctx := testContext(t, 8*time.Minute)
	k := cluster(t, "a")
	const ns = "rawiso"
	nodes := twoNodes()
	setupNetworks(t, ctx, k, ns,
		network(ns, "red", "{cidr: 10.74.0.0/24}", ""),
		network(ns, "blue", "{cidr: 10.74.0.0/24}", ""))
	// red: pod1 (node1), pod2 (node2), pod3 (node1); blue: blue1 (node1), blue2 (node2).
	pods := kube.TestboxPods(ns, []lab.Node{nodes[0], nodes[1], nodes[0]}, `k8s.v1.cni.cncf.io/networks: red`)
	blue := kube.TestboxPods(ns, nodes, `k8s.v1.cni.cncf.io/networks: blue`)
	pods += "---\n" + strings.NewReplacer("name: pod1", "name: blue1", "name: pod2", "name: blue2").Replace(blue)
	if err := k.Apply(ctx, pods); err != nil {
		t.Fatal(err)
	}
	if err := k.WaitPodsReady(ctx, ns, "app=testbox", 2*time.Minute); err != nil {
		t.Fatal(err)
	}
	red := []string{"pod1", "pod2", "pod3"}
	ifs := map[string]podIface{}
	for _, p := range append(append([]string(nil), red...), "blue1", "blue2") {
		ifs[p] = net1Of(t, ctx, k, ns, p)
		t.Logf("%s: net1 %s %s", p, ifs[p].ip, ifs[p].mac)
	}

	// Blue aims at every red pod; spoofed frames claim the MAC of a red
	// pod on the other node, as if they came through the tunnel. The
	// control, red pod1, aims at pod2 with its own MAC.
	spoofAs := map[string]string{"pod1": "pod2", "pod2": "pod1", "pod3": "pod2"}
	bursts := func(s string, mk map[string]string) [][]string {
		b := [][]string{{"--kind", "broadcast", "--marker", mk["broadcast"]}}
		targets := red
		if s == "pod1" {
			targets = []string{"pod2"}
		}
		for _, r := range targets {
			src := ifs[spoofAs[r]].mac.String()
			if s == "pod1" {
				src = ifs[s].mac.String()
			}
			b = append(b,
				[]string{"--kind", "arp", "--marker", mk["arp"], "--target", ifs[r].ip.String()},
				[]string{"--kind", "nd", "--marker", mk["nd"], "--target", linkLocal(ifs[r].mac).String()},
				[]string{"--kind", "spoof", "--marker", mk["spoof"], "--src-mac", src, "--dst-mac", ifs[r].mac.String()})
		}
		return b
	}
	// round has each sender, in turn, send every kind, and returns what
	// each pod received: pod → sender → kind → count.
	round := func(name string, senders ...string) map[string]map[string]map[string]int {
		t.Helper()
		marks := map[string]map[string]string{} // sender → kind → marker
		var all []string
		for _, s := range senders {
			marks[s] = map[string]string{}
			for _, kind := range rawKinds {
				marks[s][kind] = marker(t, name+"-"+s+"-"+kind)
				all = append(all, marks[s][kind])
			}
		}
		counters := map[string]*counting{}
		for p := range ifs {
			counters[p] = countFrames(t, ctx, k, ns, p, all, 30*time.Second)
		}
		for _, s := range senders {
			sendRaw(t, ctx, k, ns, s, bursts(s, marks[s]))
		}
		got := map[string]map[string]map[string]int{}
		for _, p := range slices.Sorted(maps.Keys(counters)) {
			counts := counters[p].result(t)
			got[p] = map[string]map[string]int{}
			var line []string
			for _, s := range senders {
				got[p][s] = map[string]int{}
				for _, kind := range rawKinds {
					got[p][s][kind] = counts[marks[s][kind]]
					line = append(line, fmt.Sprintf("%s-%s=%d", s, kind, counts[marks[s][kind]]))
				}
			}
			t.Logf("%s: received in %s: %s", name, p, strings.Join(line, " "))
		}
		return got
	}

	got := round("isolated", "blue1", "blue2", "pod1") // the control after the attacks
	for _, c := range []struct {
		pod, sender, kind string
	}{
		{"pod2", "pod1", "broadcast"}, {"pod2", "pod1", "spoof"},
		{"pod3", "pod1", "broadcast"}, {"pod3", "pod1", "arp"}, {"pod3", "pod1", "nd"},
		{"blue2", "blue1", "broadcast"}, {"blue1", "blue2", "broadcast"},
	} {
		if n := got[c.pod][c.sender][c.kind]; n != injected {
			t.Errorf("control: %s received %d of %d %s frames from %s of its own network; want all: the probe does not work",
				c.pod, n, injected, c.kind, c.sender)
		}
	}
	if t.Failed() {
		t.FailNow()
	}
	for _, r := range red {
		for _, s := range []string{"blue1", "blue2"} {
			for _, kind := range rawKinds {
				if n := got[r][s][kind]; n != 0 {
					t.Errorf("red %s received %d %s frames sent raw by %s of network blue; want 0", r, n, kind, s)
				}
			}
		}
	}

	// With a hole made by hand (a veth between red's and blue's bridges on
	// node1), blue1's frames of every kind get into red: the test sees a
	// leak where there is one.
	bridge := func(network string) string {
		out, err := k.Kubectl(ctx, "", "get", "network", "-n", ns, network, "-o", "jsonpath={.status.vni}")
		vni, perr := strconv.ParseUint(strings.TrimSpace(out), 10, 32)
		if err != nil || perr != nil {
			t.Fatalf("%s's VNI: %q, %v", network, out, err)
		}
		return devname.Numbered(devname.PrefixBridge, uint32(vni))
	}
	redBr, blueBr := bridge("red"), bridge("blue")
	t.Cleanup(func() {
		if cmd, err := handle.ExecCmd(context.Background(), nodes[0].Name, "ip", "link", "del", "sbrwhr"); err == nil {
			_ = cmd.Run()
		}
	})
	onNodeOK(t, ctx, nodes[0], "ip", "link", "add", "sbrwhr", "type", "veth", "peer", "name", "sbrwhb")
	onNodeOK(t, ctx, nodes[0], "ip", "link", "set", "sbrwhr", "master", redBr, "up")
	onNodeOK(t, ctx, nodes[0], "ip", "link", "set", "sbrwhb", "master", blueBr, "up")
	got = round("hole", "blue1")
	onNodeOK(t, ctx, nodes[0], "ip", "link", "del", "sbrwhr")
	for _, kind := range rawKinds {
		n := 0
		for _, r := range red {
			n += got[r]["blue1"][kind]
		}
		if n == 0 {
			t.Errorf("with red's and blue's bridges linked on node1, red received none of blue1's %s frames: the test cannot see a leak", kind)
		}
	}
}

// podIface is a pod's interface on a Switchboard network.
type podIface struct {
	ip  netip.Addr
	mac net.HardwareAddr
}

// net1Of reads the address and MAC of the pod's net1 from its network-status.
func net1Of(t *testing.T, ctx context.Context, k *kube.Cluster, ns, pod string) podIface {
	t.Helper()
	st, err := k.NetworkStatus(ctx, ns, pod)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range st {
		if s.Interface != "net1" || len(s.IPs) == 0 {
			continue
		}
		ip, err := netip.ParseAddr(s.IPs[0])
		mac, merr := net.ParseMAC(s.MAC)
		if err != nil || merr != nil {
			t.Fatalf("pod %s/%s net1: address %q, MAC %q: %v %v", ns, pod, s.IPs[0], s.MAC, err, merr)
		}
		return podIface{ip: ip, mac: mac}
	}
	t.Fatalf("pod %s/%s has no address on net1: network-status %+v", ns, pod, st)
	return podIface{}
}

// linkLocal returns the EUI-64 IPv6 link-local address (RFC 4291 2.5.1)
// of a MAC, the one the kernel gives an interface by default.
func linkLocal(mac net.HardwareAddr) netip.Addr {
	return netip.AddrFrom16([16]byte{0: 0xfe, 1: 0x80,
		8: mac[0] ^ 0x02, 9: mac[1], 10: mac[2], 11: 0xff, 12: 0xfe, 13: mac[3], 14: mac[4], 15: mac[5]})
}

// sendRaw runs "netcheck frames --iface net1 --count injected" with each
// burst's flags in the pod, in one exec.
func sendRaw(t *testing.T, ctx context.Context, k *kube.Cluster, ns, pod string, bursts [][]string) {
	t.Helper()
	var script []string
	for _, b := range bursts {
		script = append(script, "netcheck frames --iface net1 --count "+strconv.Itoa(injected)+" "+strings.Join(b, " "))
	}
	if out, err := k.Exec(ctx, ns, pod, "sh", "-c", "set -e; "+strings.Join(script, "; ")); err != nil {
		t.Fatalf("raw frames from %s: %v\n%s", pod, err, out)
	}
}
