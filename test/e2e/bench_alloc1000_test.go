//go:build e2e

package e2e

import (
	"context"
	"flag"
	"fmt"
	"sync"
	"testing"
	"time"
)

// massPeerLimit bounds the Whereabouts round of BenchmarkAllocate1000Pods;
// 0 leaves the peer out.
var massPeerLimit = flag.Duration("mass-peer-limit", 20*time.Minute, "BenchmarkAllocate1000Pods: time limit of the Whereabouts round (0: skip it)")

// massPods is how many pods BenchmarkAllocate1000Pods creates, over every
// node of the lab.
const massPods = 1000

// BenchmarkAllocate1000Pods: 1,000 pods created at once over the whole lab
// (2 clusters × 2 nodes: 500 per cluster, 250 per node, one create per
// cluster, both at the same moment), each with one secondary interface on
// its cluster's Switchboard Network with pool IPAM; then the same on the
// reference bridge with Whereabouts v0.9.2 as the IPAM, within
// -mass-peer-limit. It reports the time from the create to every pod of
// the lab having its address, per cluster and for the whole lab, and
// fails on a duplicate address within a cluster (each cluster's network is
// its own; the same address in both is not a duplicate).
func BenchmarkAllocate1000Pods(b *testing.B) {
	ctx, cancel := context.WithTimeout(context.Background(), 170*time.Minute)
	defer cancel()
	per := massPods / len(handle.Clusters)
	var sb, wb []allocRound
	for _, c := range handle.Clusters {
		k := setupAllocCluster(ctx, b, c)
		sb = append(sb, allocRound{k: k, nodes: c.Nodes, pods: per, ipam: "switchboard", ns: sbNamespace, network: "allocnet", left: attachmentsLeft, limit: 30 * time.Minute, mustFinish: true})
		wb = append(wb, allocRound{k: k, nodes: c.Nodes, pods: per, ipam: "whereabouts", ns: wbNamespace, network: "wbnet", left: whereaboutsLeft, limit: *massPeerLimit})
	}
	b.ResetTimer()
	for range b.N {
		printAllocHeader(fmt.Sprintf("%d pods created at once over %d clusters (%d per cluster, spread over its nodes)", massPods, len(handle.Clusters), per))
		sbAll, err := massRound(ctx, sb)
		if err != nil {
			b.Fatal(err)
		}
		wbAll := time.Duration(0)
		complete := *massPeerLimit > 0
		if *massPeerLimit > 0 {
			if wbAll, err = massRound(ctx, wb); err != nil {
				complete = false
				fmt.Println("  whereabouts:", err)
			}
		}
		b.StopTimer()
		fmt.Printf("  all %d pods addressed: switchboard %.1f s", massPods, sbAll.Seconds())
		switch {
		case *massPeerLimit == 0:
			fmt.Println(" (Whereabouts not run)")
		case complete:
			fmt.Printf(", whereabouts %.1f s, ratio switchboard/whereabouts %.2f\n", wbAll.Seconds(), sbAll.Seconds()/wbAll.Seconds())
		default:
			fmt.Printf(", whereabouts not all within %s: ratio < %.2f\n", *massPeerLimit, sbAll.Seconds()/massPeerLimit.Seconds())
		}
		b.ReportMetric(sbAll.Seconds(), "sb-all-addressed-s")
		b.StartTimer()
	}
}

// massRound runs the rounds (one per cluster) at the same moment and
// returns the time until the last pod of all of them had its address. An
// incomplete round, or a duplicate address, is an error.
func massRound(ctx context.Context, rounds []allocRound) (time.Duration, error) {
	res := make([]allocResult, len(rounds))
	errs := make([]error, len(rounds))
	var wg sync.WaitGroup
	for i, r := range rounds {
		wg.Go(func() { res[i], errs[i] = r.run(ctx) })
	}
	wg.Wait()
	for _, r := range res {
		printAllocRow(r)
	}
	var all time.Duration
	for i, r := range res {
		switch {
		case errs[i] != nil:
			return 0, fmt.Errorf("%s on cluster %s: %w", r.ipam, r.cluster, errs[i])
		case !r.complete:
			return 0, fmt.Errorf("%s on cluster %s: only %d of %d pods had an address within the limit", r.ipam, r.cluster, len(r.perPod), r.pods)
		case r.dups > 0:
			return 0, fmt.Errorf("%s on cluster %s: %d pods share an address with another pod", r.ipam, r.cluster, r.dups)
		}
		all = max(all, r.all)
	}
	return all, nil
}
