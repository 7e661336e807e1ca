package dataplane_test

import (
	"fmt"
	"net"
	"net/netip"
	"sync"
	"testing"
	"time"

	"switchboard/internal/dataplane"
	"switchboard/internal/netnstest"
)

// massPods is how many pods BenchmarkMassPods adds and removes at once.
const massPods = 60

// BenchmarkMassPods: massPods pod interfaces added at once on one node, each
// into its own pod namespace (PreparePod and Finish, as the agent's ADD
// does), then all detached at once (DetachPod, as its DEL does), while Set
// converges the node over and over on a growing list of remote pods (other
// nodes' pods starting meanwhile, which is what keeps the agent's
// data-plane loop busy). It reports the time until every ADD, and then
// every DEL, has returned.
func BenchmarkMassPods(b *testing.B) {
	c := newClusterIn(b, netnstest.NewPrefixed(b, "sbcp"), netip.MustParsePrefix("198.18.200.1/24"), netip.MustParsePrefix("198.18.200.2/24"))
	c.addPod(b, c.a, "holder", red, "10.100.0.2/16")
	var adds, dels []time.Duration
	b.ResetTimer()
	for i := range b.N {
		b.StopTimer()
		specs := make([]dataplane.PodInterface, massPods)
		for j := range specs {
			ns := c.env.NS(fmt.Sprintf("m%d-%d", i, j))
			specs[j] = dataplane.PodInterface{ContainerID: fmt.Sprintf("mass%d-%d", i, j), NetNS: ns.Path, IfName: "net1", VNI: red,
				IPs: []netip.Prefix{netip.PrefixFrom(netip.AddrFrom4([4]byte{10, 100, 1 + byte(j/250), 1 + byte(j%250)}), 16)}}
		}
		stop, sets := make(chan struct{}), make(chan int)
		go func() { sets <- churn(c, stop) }()
		b.StartTimer()
		adds = append(adds, all(b, specs, func(p dataplane.PodInterface) error {
			l, err := c.a.dp.PreparePod(p)
			if err == nil {
				_, err = l.Finish(p.MAC, p.IPs)
				l.Close()
			}
			return err
		}))
		dels = append(dels, all(b, specs, func(p dataplane.PodInterface) error { return c.a.dp.DetachPod(p.ContainerID, p.IfName) }))
		b.StopTimer()
		close(stop)
		fmt.Printf("data plane, %d pods at once while Set converged %d times: all added after %.1f ms, all detached after %.1f ms\n",
			massPods, <-sets, ms(adds[len(adds)-1]), ms(dels[len(dels)-1]))
		b.StartTimer()
	}
	b.ReportMetric(ms(adds[len(adds)-1]), "all-added-ms")
	b.ReportMetric(ms(dels[len(dels)-1]), "all-detached-ms")
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// all runs f on every spec at once and returns when the last has returned.
func all(b *testing.B, specs []dataplane.PodInterface, f func(dataplane.PodInterface) error) time.Duration {
	start := time.Now()
	errs := make([]error, len(specs))
	var wg sync.WaitGroup
	for i, p := range specs {
		wg.Go(func() { errs[i] = f(p) })
	}
	wg.Wait()
	took := time.Since(start)
	for _, err := range errs {
		if err != nil {
			b.Fatal(err)
		}
	}
	return took
}

// churn converges node a with one more remote pod on red each time, until
// stop; it returns how many times it did.
func churn(c *cluster, stop chan struct{}) int {
	for n := 0; ; n++ {
		select {
		case <-stop:
			return n
		default:
		}
		cfg := c.config(c.a)
		nw := cfg.Networks[red]
		for k := range n + 1 {
			nw.Remotes = append(nw.Remotes, dataplane.Remote{NodeIP: c.b.ip,
				MAC: net.HardwareAddr{0x02, 0xbe, 0, 0, byte(k >> 8), byte(k)},
				IPs: []netip.Addr{netip.AddrFrom4([4]byte{10, 100, 200 + byte(k>>8), byte(k)})}})
		}
		cfg.Networks[red] = nw
		_ = c.a.dp.Set(cfg)
	}
}
