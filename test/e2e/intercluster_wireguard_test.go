//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"switchboard/internal/lab"
	"switchboard/internal/lab/kube"
	"switchboard/internal/netnstest"
)

// zeroRun is what a plaintext run of netcheck's --discard zeros looks like
// in a frame; WireGuard's headers hold at most a few zero bytes in a row,
// its ciphertext none that long.
var zeroRun = make([]byte, 128)

// gatewayNS is the network namespace of a lab cluster's gateway node.
func gatewayNS(cluster string) *netnstest.NS {
	name := labCfg.Name + "-" + cluster + "-node1"
	return &netnstest.NS{Name: name, Path: filepath.Join("/run/netns", name)}
}

// wanCarriesNoPlaintext sends 10 MB of zeros from a1 to b1 and captures
// gateway a's WAN interface and, as the positive control, its underlay,
// where the same bytes cross the cluster in (VXLAN) plaintext.
func wanCarriesNoPlaintext(t *testing.T, ctx context.Context, a *kube.Cluster, ns, b1 string) {
	gw := gatewayNS("a")
	wan, underlay := gw.CaptureFrames(t, "wan0"), gw.CaptureFrames(t, "eth0")
	out, err := a.Exec(ctx, ns, "a1", "netcheck", "send", "--discard", "--bytes", "10485760", b1+":5002")
	wanFrames, ulFrames := wan.Stop(), underlay.Stop()
	if err != nil {
		t.Fatalf("10 MB of zeros a1 -> b1: %v\n%s", err, out)
	}
	count := func(frames [][]byte) (hits, total int) {
		for _, f := range frames {
			total += len(f)
			if bytes.Contains(f, zeroRun) {
				hits++
			}
		}
		return hits, total
	}
	wh, wtotal := count(wanFrames)
	uh, _ := count(ulFrames)
	t.Logf("10 MB of zeros a1 -> b1: WAN %d frames, %d bytes, %d in plaintext; gateway underlay %d frames in plaintext", len(wanFrames), wtotal, wh, uh)
	switch {
	case uh == 0:
		t.Fatal("the underlay capture saw no plaintext zeros: the capture proves nothing")
	case wtotal < 5<<20:
		// A capture may drop frames on a loaded machine; half the
		// transfer's bytes prove it was looking at the transfer.
		t.Fatalf("the WAN capture saw %d bytes, less than half the transfer: it missed it", wtotal)
	case wh != 0:
		t.Errorf("%d frames on the WAN carry the transfer in plaintext", wh)
	}
}

var pingStats = regexp.MustCompile(`(\d+) packets transmitted, (\d+) (packets )?received`)

// rotateEdgeKey rotates gateway a's WireGuard key by command while b1
// pings a1 every 100 ms, and checks that the traffic comes back unaided
// with a new key in place. The pings lost are logged (docs/benchmarks.md).
func rotateEdgeKey(t *testing.T, ctx context.Context, a, b *kube.Cluster, ns, a1 string) {
	r := pingThroughRotation(t, ctx, a, b, ns, "b1", a1, 100*time.Millisecond, 100) // 10 s
	t.Logf("a's edge rotated its key to %s in %s", r.key, r.took.Round(time.Millisecond))
	t.Logf("during the rotation: %d pings sent every 100 ms, %d answered, %d lost", r.sent, r.sent-r.lost, r.lost)
	if d := waitPing(t, ctx, b, ns, "b1", a1, 60*time.Second); d > 0 {
		t.Logf("b1 -> a1 answered %s after the ping run", d.Round(time.Millisecond))
	}
	logs, err := a.Kubectl(ctx, "", "logs", "-n", "switchboard-system", "ds/switchboard-edge")
	if err == nil && !strings.Contains(logs, fmt.Sprintf(`"publicKey":%q`, r.key)) {
		t.Errorf("a's edge log does not show the new key %s registered", r.key)
	}
}

// rotation is what pingThroughRotation saw.
type rotation struct {
	key        string        // the rotated edge's new public key
	took       time.Duration // how long the rotate-key command took
	sent, lost int           // pings sent during the run, and not answered
}

// pingThroughRotation sends count pings, one per interval, from pod (in
// cluster from) to dst over net1 and, 2 s into the run, rotates the
// WireGuard key of rotated's edge by command
// (switchboard-edge rotate-key); it returns once the ping run ends.
func pingThroughRotation(tb testing.TB, ctx context.Context, rotated, from *kube.Cluster, ns, pod, dst string, interval time.Duration, count int) rotation {
	tb.Helper()
	type result struct {
		sent, lost int
		err        error
	}
	pinged := make(chan result, 1)
	go func() {
		var r result
		r.sent, r.lost, r.err = pingRun(ctx, from, ns, pod, dst, interval, count)
		pinged <- r
	}()
	time.Sleep(2 * time.Second)
	start := time.Now()
	key, err := rotated.Kubectl(ctx, "", "exec", "-n", "switchboard-system", "ds/switchboard-edge", "--", "switchboard-edge", "rotate-key")
	if err != nil {
		<-pinged
		tb.Fatalf("switchboard-edge rotate-key: %v\n%s", err, key)
	}
	r := rotation{key: strings.TrimSpace(key), took: time.Since(start)}
	p := <-pinged
	if p.err != nil {
		tb.Fatal(p.err)
	}
	r.sent, r.lost = p.sent, p.lost
	return r
}

// pingRun sends count pings, one per interval, from pod (in cluster k) to
// dst over net1, and returns how many it sent and how many were not
// answered; an error when ping's summary is missing.
func pingRun(ctx context.Context, k *kube.Cluster, ns, pod, dst string, interval time.Duration, count int) (sent, lost int, err error) {
	out, err := k.Exec(ctx, ns, pod, "ping", "-i", strconv.FormatFloat(interval.Seconds(), 'f', -1, 64),
		"-c", strconv.Itoa(count), "-W", "1", "-I", "net1", dst)
	m := pingStats.FindStringSubmatch(out)
	if m == nil {
		return 0, 0, fmt.Errorf("%s: ping %s: no summary: %v\n%s", pod, dst, err, out)
	}
	sent, _ = strconv.Atoi(m[1])
	got, _ := strconv.Atoi(m[2])
	return sent, sent - got, nil
}

// wanInjection sends, from a host on the WAN that is no peer edge (the
// lab's WAN namespace), VXLAN datagrams carrying the network's
// inter-cluster VNI to every UDP port of both gateways that could take
// them (the inner VXLAN port, WireGuard's, the intra-cluster VXLAN port);
// the members a1 and b1 receive none of the frames inside. Controls: raw
// frames from b1 reach a1 across the clusters (the counters and the path
// work), and the same kind of datagram with the network's local VNI, sent
// from gateway a's own underlay address to a1's node, reaches a1 (the
// datagrams are well formed: the WAN ones were stopped, not malformed).
func wanInjection(t *testing.T, ctx context.Context, a, b *kube.Cluster, ns, net string) {
	get := func(k *kube.Cluster, path string) string {
		out, err := k.Kubectl(ctx, "", "get", "network", "-n", ns, net, "-o", "jsonpath={"+path+"}")
		if err != nil || strings.TrimSpace(out) == "" {
			t.Fatalf("%s of %s in %s: %q, %v", path, net, k.Name, out, err)
		}
		return strings.TrimSpace(out)
	}
	interVNI, localVNI := get(a, ".status.interClusterVNI"), get(a, ".status.vni")
	var gws []string
	var gwA, nodeA lab.Node
	for _, c := range handle.Clusters {
		for _, n := range c.Nodes {
			if n.Gateway {
				gws = append(gws, n.WANIP.String())
				if c.Name == "a" {
					gwA = n
				}
			} else if c.Name == "a" && n.Name == "a-node2" {
				nodeA = n
			}
		}
	}
	wanMarks := map[string]string{}
	var all []string
	for _, port := range []string{"4790", "51820", "4789"} {
		wanMarks[port] = marker(t, "wan"+port)
		all = append(all, wanMarks[port])
	}
	raw, local := marker(t, "raw"), marker(t, "local")
	all = append(all, raw, local)
	counters := map[string]*counting{
		"a1": countFrames(t, ctx, a, ns, "a1", all, 15*time.Second),
		"b1": countFrames(t, ctx, b, ns, "b1", all, 15*time.Second),
	}
	netcheck := filepath.Join(labCfg.ImageBin, "netcheck")
	for port, mk := range wanMarks {
		argv := append([]string{"ip", "netns", "exec", labCfg.Name + "-wan", netcheck, "vxlan", "--vni", interVNI, "--port", port,
			"--marker", mk, "--count", strconv.Itoa(injected)}, gws...)
		if out, err := exec.CommandContext(ctx, argv[0], argv[1:]...).CombinedOutput(); err != nil {
			t.Fatalf("inject from the WAN to port %s: %v\n%s", port, err, out)
		}
	}
	if out, err := b.Exec(ctx, ns, "b1", "netcheck", "frames", "--iface", "net1", "--marker", raw, "--count", strconv.Itoa(injected)); err != nil {
		t.Fatalf("raw frames from b1: %v\n%s", err, out)
	}
	onNodeOK(t, ctx, gwA, netcheck, "vxlan", "--vni", localVNI, "--marker", local, "--count", strconv.Itoa(injected),
		"--from", gwA.IP.String(), nodeA.IP.String())
	got := map[string]map[string]int{}
	for pod, c := range counters {
		got[pod] = c.result(t)
	}
	t.Logf("counts: %v", got)
	if got["a1"][raw] != injected || got["a1"][local] != injected {
		t.Fatalf("controls: raw frames b1 -> a1 %d of %d, VXLAN from gateway a's address -> a1 %d of %d; want all: the probe does not work",
			got["a1"][raw], injected, got["a1"][local], injected)
	}
	for _, pod := range []string{"a1", "b1"} {
		for port, mk := range wanMarks {
			if n := got[pod][mk]; n != 0 {
				t.Errorf("%s received %d frames injected from the WAN to the gateways' port %s; want 0", pod, n, port)
			}
		}
	}
}
