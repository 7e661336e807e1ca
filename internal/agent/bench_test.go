package agent

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"

	"switchboard/internal/cnirpc"
)

// apiDelay stands for the API server's round trip on a create: a few ms on
// an idle lab node, tens when loaded (docs/benchmarks.md).
const apiDelay = 5 * time.Millisecond

// BenchmarkCNIAdd: the agent's ADD and DEL of one pod interface (a fresh pod
// namespace each time, the network's bridge kept by a holder pod), against
// a fake API server whose creates take apiDelay. One operation is one ADD
// and one DEL; reported as p50 of each and the phases of the ADD.
func BenchmarkCNIAdd(b *testing.B) {
	slow := interceptor.Funcs{Create: func(ctx context.Context, c client.WithWatch, obj client.Object, opts ...client.CreateOption) error {
		time.Sleep(apiDelay)
		return c.Create(ctx, obj, opts...)
	}}
	ta := newTestAgent(b, "10.50.0.0/16", slow)
	call := func(command, id, netns string) {
		resp := ta.Handle(context.Background(), cnirpc.Request{
			Command: command, ContainerID: id, NetNS: netns, IfName: "net1",
			Args: "K8S_POD_NAMESPACE=t1;K8S_POD_NAME=p1;K8S_POD_UID=u1", Config: []byte(testConfig),
		})
		if resp.Error != nil {
			b.Fatalf("%s %s: %v", command, id, resp.Error)
		}
	}
	call("ADD", "holder", ta.env.NS("holder").Path)
	var add, del []time.Duration
	b.ResetTimer()
	for i := range b.N {
		b.StopTimer()
		ns := ta.env.NS(fmt.Sprintf("p%d", i))
		id := fmt.Sprintf("bench%06d", i)
		b.StartTimer()
		start := time.Now()
		call("ADD", id, ns.Path)
		mid := time.Now()
		call("DEL", id, ns.Path)
		add, del = append(add, mid.Sub(start)), append(del, time.Since(mid))
		b.StopTimer()
		_ = ns.Delete()
		b.StartTimer()
	}
	b.StopTimer()
	p50 := func(s []time.Duration) float64 {
		slices.Sort(s)
		return float64(s[len(s)/2].Microseconds()) / 1000
	}
	fmt.Printf("agent CNI, %d each, API create %s (ms p50): ADD %.2f DEL %.2f; ADD phases (ms mean):%s\n",
		len(add), apiDelay, p50(add), p50(del), phaseMeans(b, ta.metrics.addPhase))
	b.ReportMetric(p50(add), "add-p50-ms")
	b.ReportMetric(p50(del), "del-p50-ms")
}

// phaseMeans prints the mean of each phase of h, in ms.
func phaseMeans(b *testing.B, h *prometheus.HistogramVec) string {
	reg := prometheus.NewRegistry()
	reg.MustRegister(h)
	mfs, err := reg.Gather()
	if err != nil {
		b.Fatal(err)
	}
	var out strings.Builder
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			if n := m.GetHistogram().GetSampleCount(); n > 0 {
				fmt.Fprintf(&out, " %s %.2f", m.GetLabel()[0].GetValue(), m.GetHistogram().GetSampleSum()/float64(n)*1000)
			}
		}
	}
	return out.String()
}
