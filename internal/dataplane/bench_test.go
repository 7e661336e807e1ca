package dataplane_test

import (
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"switchboard/internal/dataplane"
)

// refPluginDir holds Debian's reference CNI plugins (containernetworking-plugins).
const refPluginDir = "/usr/lib/cni"

// BenchmarkPodInterface: attaching and detaching one pod interface with
// AddPod/DelPod, against the reference bridge + host-local plugins doing the
// same in the same run (on the same node namespace, with a pod namespace of
// their own each time). One operation is one ADD and one DEL on each side
// (and AddPod's two steps once more, see below), so -benchtime 200x times
// 200 of each. Both sides keep their bridge across
// iterations, as on a node with other pods. Reported as p50 per side and
// their ratio; and, for the agent's ADD, which makes the link while it
// allocates the address, AddPod's two steps apart: PreparePod, and Finish
// (the addresses), which is all that is left once the address is known.
func BenchmarkPodInterface(b *testing.B) {
	if _, err := os.Stat(refPluginDir + "/bridge"); err != nil {
		b.Skipf("reference plugins not installed (%v): apt-get install containernetworking-plugins", err)
	}
	c := newCluster(b)
	c.addPod(b, c.a, "holder", red, "10.100.0.2/24") // keeps red's devices on a
	var sbAdd, sbDel, refAdd, refDel, prep, fin []time.Duration
	dataDir := b.TempDir()
	refConf := fmt.Sprintf(`{"cniVersion":"1.0.0","name":"ref","type":"bridge","bridge":"refbr0",
	  "ipam":{"type":"host-local","ranges":[[{"subnet":"10.101.0.0/24"}]],"dataDir":%q}}`, dataDir)
	b.ResetTimer()
	for i := range b.N {
		b.StopTimer()
		ns := c.env.NS(fmt.Sprintf("bp%d", i))
		spec := dataplane.PodInterface{ContainerID: fmt.Sprintf("bench%06d", i), NetNS: ns.Path, IfName: "net1", VNI: red,
			IPs: []netip.Prefix{netip.PrefixFrom(netip.AddrFrom4([4]byte{10, 100, 1 + byte(i/250), 1 + byte(i%250)}), 16)}}
		b.StartTimer()
		start := time.Now()
		if _, err := c.a.dp.AddPod(spec); err != nil {
			b.Fatal(err)
		}
		mid := time.Now()
		if err := c.a.dp.DelPod(spec.ContainerID, spec.NetNS, spec.IfName); err != nil {
			b.Fatal(err)
		}
		sbAdd, sbDel = append(sbAdd, mid.Sub(start)), append(sbDel, time.Since(mid))

		add, err := refPlugin(c.a.ns.Path, "ADD", spec.ContainerID, ns.Path, refConf)
		if err != nil {
			b.Fatal(err)
		}
		del, err := refPlugin(c.a.ns.Path, "DEL", spec.ContainerID, ns.Path, refConf)
		if err != nil {
			b.Fatal(err)
		}
		refAdd, refDel = append(refAdd, add), append(refDel, del)

		start = time.Now()
		l, err := c.a.dp.PreparePod(spec)
		if err != nil {
			b.Fatal(err)
		}
		mid = time.Now()
		if _, err := l.Finish(nil, spec.IPs); err != nil {
			b.Fatal(err)
		}
		prep, fin = append(prep, mid.Sub(start)), append(fin, time.Since(mid))
		l.Close()
		b.StopTimer()
		if err := c.a.dp.DelPod(spec.ContainerID, spec.NetNS, spec.IfName); err != nil {
			b.Fatal(err)
		}
		_ = ns.Delete()
		b.StartTimer()
	}
	b.StopTimer()
	sa, sd, ra, rd := p50ms(sbAdd), p50ms(sbDel), p50ms(refAdd), p50ms(refDel)
	pp, pf := p50ms(prep), p50ms(fin)
	fmt.Printf("pod interface, %d each (ms p50): AddPod %.2f DelPod %.2f | reference bridge+host-local exec ADD %.2f DEL %.2f | ratio ADD %.2f | PreparePod %.2f Finish %.2f\n",
		len(sbAdd), sa, sd, ra, rd, sa/ra, pp, pf)
	b.ReportMetric(sa, "addpod-p50-ms")
	b.ReportMetric(ra, "ref-add-p50-ms")
	b.ReportMetric(pp, "prepare-p50-ms")
	b.ReportMetric(pf, "finish-p50-ms")
}

// p50ms is the median of s in milliseconds; it sorts s.
func p50ms(s []time.Duration) float64 {
	slices.Sort(s)
	return float64(s[len(s)/2].Microseconds()) / 1000
}

// refPlugin runs the reference bridge plugin in the node namespace, the way
// a runtime does, and returns how long it took.
func refPlugin(nodeNS, command, containerID, netns, conf string) (time.Duration, error) {
	cmd := exec.Command("ip", "netns", "exec", nodeNS[strings.LastIndex(nodeNS, "/")+1:], refPluginDir+"/bridge")
	cmd.Env = append(os.Environ(), "CNI_COMMAND="+command, "CNI_CONTAINERID="+containerID, "CNI_NETNS="+netns,
		"CNI_IFNAME=net1", "CNI_PATH="+refPluginDir)
	cmd.Stdin = strings.NewReader(conf)
	start := time.Now()
	out, err := cmd.CombinedOutput()
	if err != nil {
		return 0, fmt.Errorf("bridge %s: %v: %s", command, err, out)
	}
	return time.Since(start), nil
}
