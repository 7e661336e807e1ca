//go:build e2e

package e2e

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"switchboard/internal/lab"
	"switchboard/internal/lab/kube"
)

const benchBytes = "1073741824" // 1 GiB per TCP transfer

var (
	mbits = regexp.MustCompile(`\(([0-9.]+) Mbit/s\)`)
	rtt   = regexp.MustCompile(`min/avg/max[^=]*= [0-9.]+/([0-9.]+)/`)
)

// path is one way to move bytes between two endpoints: send runs
// `netcheck send` or `ping` at the sender and returns its output.
type path struct {
	name string
	run  func(ctx context.Context, argv ...string) (string, error)
	dst  string
}

// benchRounds is how many transfers each path makes in a run.
const benchRounds = 7

// pathResult is what measureAll found for one path: the throughput of
// each round (Mbit/s) and the mean ping RTT (ms).
type pathResult struct {
	tputs []float64
	rtt   float64
}

// tput is the median throughput over the rounds.
func (r pathResult) tput() float64 { return median(r.tputs) }

// ratio is the median over the rounds of r's throughput over peer's in
// the same round.
func (r pathResult) ratio(peer pathResult) float64 { return roundRatio(r.tputs, peer.tputs) }

// roundRatio is the median over the rounds of xs[i]/peer[i], two paths'
// figures measured in the same round: slow drift of the machine cancels
// within a round.
func roundRatio(xs, peer []float64) float64 {
	var rs []float64
	for i := range xs {
		rs = append(rs, xs[i]/peer[i])
	}
	return median(rs)
}

func median(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	return s[len(s)/2]
}

// measureAll moves benchBytes over each path once per round, the paths
// one after the other within a round, for benchRounds rounds, then pings
// over each 200 times at 100/s.
func measureAll(b *testing.B, ctx context.Context, paths []path) map[string]pathResult {
	res := map[string]pathResult{}
	for range benchRounds {
		for _, p := range paths {
			out, err := p.run(ctx, "netcheck", "send", "--discard", "--bytes", benchBytes, "--timeout", "120s", net.JoinHostPort(p.dst, "5002"))
			m := mbits.FindStringSubmatch(out)
			if err != nil || m == nil {
				b.Fatalf("%s: netcheck send: %v\n%s", p.name, err, out)
			}
			v, _ := strconv.ParseFloat(m[1], 64)
			r := res[p.name]
			r.tputs = append(r.tputs, v)
			res[p.name] = r
		}
	}
	for _, p := range paths {
		out, err := p.run(ctx, "ping", "-q", "-c", "200", "-i", "0.01", p.dst)
		m := rtt.FindStringSubmatch(out)
		if err != nil || m == nil {
			b.Fatalf("%s: ping: %v\n%s", p.name, err, out)
		}
		r := res[p.name]
		r.rtt, _ = strconv.ParseFloat(m[1], 64)
		res[p.name] = r
	}
	return res
}

// rrRounds is how many request/response runs each path makes, rrFor long.
const (
	rrRounds = 3
	rrFor    = "5s"
)

var rrRate = regexp.MustCompile(`\(([0-9.]+) transactions/s\)`)

// measureRR runs `netcheck rr` (one-byte request and answer over one TCP
// connection) against the echo service on port 5003 of each path's
// destination, the paths one after the other within a round, for rrRounds
// rounds, and returns each path's transactions/s per round.
func measureRR(b *testing.B, ctx context.Context, paths []path) map[string][]float64 {
	res := map[string][]float64{}
	for range rrRounds {
		for _, p := range paths {
			out, err := p.run(ctx, "netcheck", "rr", "--for", rrFor, net.JoinHostPort(p.dst, "5003"))
			m := rrRate.FindStringSubmatch(out)
			if err != nil || m == nil {
				b.Fatalf("%s: netcheck rr: %v\n%s", p.name, err, out)
			}
			v, _ := strconv.ParseFloat(m[1], 64)
			res[p.name] = append(res[p.name], v)
		}
	}
	return res
}

// hostNets builds the two baselines in throwaway namespaces of this run:
// a bare veth between two namespaces, and a hand-made VXLAN overlay with
// the lab's shape (two nodes on a bridged underlay, a bridge and a VXLAN
// device per node, a pod namespace on each).
type hostNets struct {
	b      *testing.B
	prefix string
	nsList []string
}

func (h *hostNets) sh(script string) {
	h.b.Helper()
	if out, err := exec.Command("sh", "-ec", script).CombinedOutput(); err != nil {
		h.b.Fatalf("%v: %s\n%s", err, out, script)
	}
}

func (h *hostNets) ns(names ...string) {
	for _, n := range names {
		h.sh("ip netns add " + h.prefix + n + "; ip -n " + h.prefix + n + " link set lo up")
		h.nsList = append(h.nsList, h.prefix+n)
	}
}

func (h *hostNets) cleanup() {
	for _, n := range h.nsList {
		_ = exec.Command("ip", "netns", "delete", n).Run()
	}
}

// inNS returns a runner for a command in one of the run's namespaces; the
// testbox tools are the host's netcheck and busybox, so every path uses the
// same programs.
func (h *hostNets) inNS(ns string) func(ctx context.Context, argv ...string) (string, error) {
	return func(ctx context.Context, argv ...string) (string, error) {
		bin := argv[0]
		switch bin {
		case "netcheck":
			bin = filepath.Join(labCfg.ImageBin, "netcheck")
		case "ping":
			argv = append([]string{"busybox"}, argv...)
			bin = "busybox"
		}
		cmd := exec.CommandContext(ctx, "ip", append([]string{"netns", "exec", h.prefix + ns, bin}, argv[1:]...)...)
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
}

func (h *hostNets) serve(ns string) {
	h.b.Helper()
	cmd := exec.Command("ip", "netns", "exec", h.prefix+ns, filepath.Join(labCfg.ImageBin, "netcheck"), "serve", "--http", "", "--tcp", "", "--discard", ":5002", "--echo", ":5003")
	if err := cmd.Start(); err != nil {
		h.b.Fatal(err)
	}
	h.b.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	// Wait until it listens: a one-byte send succeeds.
	send := h.inNS(ns)
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if _, err := send(context.Background(), "netcheck", "send", "--discard", "--bytes", "1", "127.0.0.1:5002"); err == nil {
			return
		}
		if time.Now().After(deadline) {
			h.b.Fatalf("netcheck serve in %s%s does not listen", h.prefix, ns)
		}
	}
}

// labNodeVXLAN builds the hand-made VXLAN again, this time between two real
// lab nodes: a bridge and a VXLAN device (own VNI and UDP port) in each
// node's namespace and one of this run's namespaces (q1, q2) as the pod on
// each. Its packets cross the same node namespaces as Switchboard's, with
// kube-proxy's rules and conntrack, so the ratio against it is Switchboard's
// own cost. The devices are removed when the benchmark ends.
func (h *hostNets) labNodeVXLAN(n1, n2 lab.Node) {
	h.ns("q1", "q2")
	h.b.Cleanup(func() {
		for _, n := range []lab.Node{n1, n2} {
			_ = exec.Command("sh", "-c", "ip -n "+n.NetNS+" link del bqp; ip -n "+n.NetNS+" link del bqvx; ip -n "+n.NetNS+" link del bqbr").Run()
		}
	})
	for i, n := range []lab.Node{n1, n2} {
		other := n2
		if i == 1 {
			other = n1
		}
		h.sh(fmt.Sprintf(`
ip -n %[1]s link add bqbr type bridge; ip -n %[1]s link set bqbr up
ip -n %[1]s link add bqvx type vxlan id 16000042 local %[2]s dstport 4791 nolearning
ip -n %[1]s link set bqvx master bqbr up
ip -n %[1]s link add bqp mtu 1450 type veth peer name eth0 mtu 1450 netns %[4]sq%[5]d
ip -n %[1]s link set bqp master bqbr up
ip -n %[4]sq%[5]d addr add 10.83.0.%[5]d/24 dev eth0; ip -n %[4]sq%[5]d link set eth0 up
bridge -n %[1]s fdb append 00:00:00:00:00:00 dev bqvx dst %[3]s
`, n.NetNS, n.IP, other.IP, h.prefix, i+1))
	}
}

// withCPU gives the pods of a manifest a request of one CPU. A pod without
// requests is BestEffort, and its cgroup has the smallest CPU weight there
// is: with the node busy, its netcheck would get less CPU than the peers',
// which run in the test's own cgroup, and the ratio would measure the
// cgroups rather than the network.
func withCPU(manifest string) string {
	return strings.ReplaceAll(manifest, "    imagePullPolicy: Never\n", "    imagePullPolicy: Never\n    resources: {requests: {cpu: \"1\"}}\n")
}

// BenchmarkPodPath: pod-to-pod TCP throughput and ping latency across two
// nodes on a Switchboard network, against a bare veth and a hand-made VXLAN
// overlay, in the same run.
func BenchmarkPodPath(b *testing.B) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancel()
	suffix := make([]byte, 2)
	_, _ = rand.Read(suffix)
	h := &hostNets{b: b, prefix: "sbb" + hex.EncodeToString(suffix) + "-"}
	defer h.cleanup()
	p := h.prefix
	h.ns("v1", "v2", "sw", "n1", "n2", "p1", "p2")
	h.sh(fmt.Sprintf(`
ip -n %[1]sv1 link add eth0 type veth peer name eth0 netns %[1]sv2
ip -n %[1]sv1 addr add 10.89.0.1/24 dev eth0; ip -n %[1]sv1 link set eth0 up
ip -n %[1]sv2 addr add 10.89.0.2/24 dev eth0; ip -n %[1]sv2 link set eth0 up
ip -n %[1]ssw link add br0 type bridge; ip -n %[1]ssw link set br0 up
for i in 1 2; do
  ip -n %[1]sn$i link add eth0 type veth peer name n$i netns %[1]ssw
  ip -n %[1]ssw link set n$i master br0 up
  ip -n %[1]sn$i addr add 198.18.252.$i/24 dev eth0; ip -n %[1]sn$i link set eth0 up
  ip -n %[1]sn$i link add vx0 type vxlan id 42 local 198.18.252.$i dstport 4789 dev eth0 nolearning
  ip -n %[1]sn$i link add pbr type bridge; ip -n %[1]sn$i link set vx0 master pbr
  ip -n %[1]sn$i link set vx0 up; ip -n %[1]sn$i link set pbr up
  ip -n %[1]sp$i link add eth0 mtu 1450 type veth peer name p$i mtu 1450 netns %[1]sn$i
  ip -n %[1]sn$i link set p$i master pbr up
  ip -n %[1]sp$i addr add 10.88.0.$i/24 dev eth0; ip -n %[1]sp$i link set eth0 up
done
ip netns exec %[1]sn1 bridge fdb append 00:00:00:00:00:00 dev vx0 dst 198.18.252.2
ip netns exec %[1]sn2 bridge fdb append 00:00:00:00:00:00 dev vx0 dst 198.18.252.1
`, p))
	h.serve("v2")
	h.serve("p2")
	h.labNodeVXLAN(handle.Clusters[0].Nodes[0], handle.Clusters[0].Nodes[1])
	h.serve("q2")

	k, err := kube.New(handle, "a")
	if err != nil {
		b.Fatal(err)
	}
	const ns = "bench-path"
	if err := k.Apply(ctx, benchNamespace(ns)+"---\n"+network(ns, "fast", "{cidr: 10.84.0.0/24}", "")); err != nil {
		b.Fatal(err)
	}
	defer k.Kubectl(context.Background(), "", "delete", "namespace", ns, "--wait=false")
	if _, err := k.Kubectl(ctx, "", "wait", "-n", ns, "--for=condition=Ready", "network/fast", "--timeout=60s"); err != nil {
		b.Fatal(err)
	}
	if err := k.Apply(ctx, withCPU(kube.TestboxPods(ns, twoNodes(), `k8s.v1.cni.cncf.io/networks: fast`))); err != nil {
		b.Fatal(err)
	}
	if err := k.WaitPodsReady(ctx, ns, "app=testbox", 2*time.Minute); err != nil {
		b.Fatal(err)
	}
	st, err := k.NetworkStatus(ctx, ns, "pod2")
	if err != nil {
		b.Fatal(err)
	}
	var sbDst string
	for _, s := range st {
		if s.Interface == "net1" && len(s.IPs) > 0 {
			sbDst = s.IPs[0]
		}
	}
	paths := []path{
		{"bare veth", h.inNS("v1"), "10.89.0.2"},
		{"hand-made VXLAN", h.inNS("p1"), "10.88.0.2"},
		{"hand-made VXLAN, lab nodes", h.inNS("q1"), "10.83.0.2"},
		{"switchboard (pods, 2 nodes)", func(ctx context.Context, argv ...string) (string, error) {
			return k.Exec(ctx, ns, "pod1", argv...)
		}, sbDst},
	}
	b.ResetTimer()
	for range b.N {
		res := measureAll(b, ctx, paths)
		b.StopTimer()
		fmt.Printf("Pod-to-pod path, netcheck send --discard 1 GiB in %d interleaved rounds (median), 200 pings at 100/s:\n", benchRounds)
		for _, p := range paths {
			fmt.Printf("  %-28s %8.0f Mbit/s   rtt avg %.3f ms\n", p.name, res[p.name].tput(), res[p.name].rtt)
		}
		sb, vx, vxLab := res[paths[3].name], res[paths[1].name], res[paths[2].name]
		fmt.Printf("  ratio switchboard/hand-made VXLAN (median of per-round ratios): throughput %.2f, rtt %.2f\n", sb.ratio(vx), sb.rtt/vx.rtt)
		fmt.Printf("  ratio switchboard/hand-made VXLAN between the same lab nodes: throughput %.2f, rtt %.2f\n", sb.ratio(vxLab), sb.rtt/vxLab.rtt)
		b.ReportMetric(sb.ratio(vx), "tput-ratio-vs-vxlan")
		b.ReportMetric(sb.ratio(vxLab), "tput-ratio-vs-lab-vxlan")
		b.StartTimer()
	}
}
