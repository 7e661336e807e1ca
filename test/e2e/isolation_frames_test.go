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
// senders work).
func TestRawFrameIsolation(t *testing.T) {
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

	senders := []string{"blue1", "blue2", "pod1"}
	marks := map[string]map[string]string{} // sender → kind → marker
	var all []string
	for _, s := range senders {
		marks[s] = map[string]string{}
		for _, kind := range rawKinds {
			marks[s][kind] = marker(t, s+"-"+kind)
			all = append(all, marks[s][kind])
		}
	}
	// Blue aims at every red pod; spoofed frames claim the MAC of a red
	// pod on the other node, as if they came through the tunnel.
	spoofAs := map[string]string{"pod1": "pod2", "pod2": "pod1", "pod3": "pod2"}
	bursts := func(s string, targets []string, ownMAC bool) [][]string {
		m := marks[s]
		b := [][]string{{"--kind", "broadcast", "--marker", m["broadcast"]}}
		for _, r := range targets {
			src := ifs[spoofAs[r]].mac.String()
			if ownMAC {
				src = ifs[s].mac.String()
			}
			b = append(b,
				[]string{"--kind", "arp", "--marker", m["arp"], "--target", ifs[r].ip.String()},
				[]string{"--kind", "nd", "--marker", m["nd"], "--target", linkLocal(ifs[r].mac).String()},
				[]string{"--kind", "spoof", "--marker", m["spoof"], "--src-mac", src, "--dst-mac", ifs[r].mac.String()})
		}
		return b
	}

	counters := map[string]*counting{}
	for p := range ifs {
		counters[p] = countFrames(t, ctx, k, ns, p, all, 30*time.Second)
	}
	sendRaw(t, ctx, k, ns, "blue1", bursts("blue1", red, false))
	sendRaw(t, ctx, k, ns, "blue2", bursts("blue2", red, false))
	sendRaw(t, ctx, k, ns, "pod1", bursts("pod1", []string{"pod2"}, true)) // the control, after the attacks
	got := map[string]map[string]int{}
	for p, c := range counters {
		got[p] = c.result(t)
	}
	for _, p := range slices.Sorted(maps.Keys(got)) {
		var line []string
		for _, s := range senders {
			for _, kind := range rawKinds {
				line = append(line, fmt.Sprintf("%s-%s=%d", s, kind, got[p][marks[s][kind]]))
			}
		}
		t.Logf("received in %s: %s", p, strings.Join(line, " "))
	}

	for _, c := range []struct {
		pod, sender, kind string
	}{
		{"pod2", "pod1", "broadcast"}, {"pod2", "pod1", "spoof"},
		{"pod3", "pod1", "broadcast"}, {"pod3", "pod1", "arp"}, {"pod3", "pod1", "nd"},
		{"blue2", "blue1", "broadcast"}, {"blue1", "blue2", "broadcast"},
	} {
		if n := got[c.pod][marks[c.sender][c.kind]]; n != injected {
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
				if n := got[r][marks[s][kind]]; n != 0 {
					t.Errorf("red %s received %d %s frames sent raw by %s of network blue; want 0", r, n, kind, s)
				}
			}
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
