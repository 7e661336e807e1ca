package idco_test

import (
	"context"
	"fmt"
	"net"
	"path/filepath"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"switchboard/internal/idco"
	"switchboard/internal/idco/client"
	"switchboard/internal/idco/pki"
	"switchboard/internal/idco/server"
	"switchboard/internal/idco/store"
	"switchboard/internal/idco/store/storetest"
	"switchboard/internal/token"
)

// BenchmarkAuthorize measures authorization decisions on each backend,
// called in process (service/) and through the real HTTPS + mTLS API on
// loopback (https+mtls/), next to the bare token.Verify they are built on,
// so the ratio shows the IDCO's overhead (store, audit; then TLS, HTTP,
// JSON) over the crypto. Every decision is an allowed one, committed
// before it is answered. It reports decisions/s, the p99 latency and the
// process's CPU time per decision; it asserts nothing about timings.
func BenchmarkAuthorize(b *testing.B) {
	key, err := token.GenerateKey("")
	if err != nil {
		b.Fatal(err)
	}
	pub, _ := token.MarshalPublicKeyPEM(key.Public())
	raw, err := token.Sign(token.Claims{Network: "n", User: "alice", Expiry: time.Now().Add(time.Hour)}, key)
	if err != nil {
		b.Fatal(err)
	}
	// Every decision is for a new pod (the rounds of b.N too), as when
	// pods start: none replaces an earlier authorization.
	var pods atomic.Int64
	tk, _ := token.NewKey(key.Public())
	keys := token.StaticKeys{"alice": {tk}}
	backends := storetest.Backends(b)
	// 8 clients: the figures since issue 4; 64: many operators at once,
	// where decisions share commits more.
	for _, clients := range []int{8, 64} {
		b.Run(fmt.Sprintf("clients=%d", clients), func(b *testing.B) {
			b.Run("token.Verify", func(b *testing.B) {
				measure(b, clients, func(ctx context.Context) error {
					_, err := token.Verify(ctx, raw, keys, token.Expect{Network: "n", Cluster: "a"})
					return err
				})
			})
			for _, be := range backends {
				// Set up on the parent: a sub-benchmark's body runs once
				// per b.N tried, and its cleanups run after each.
				// One client, so one HTTP/2 connection, per 8 clients: as
				// many operators, each with its own connection.
				svc, cs := benchAPI(b, be.NewDSN(b), pub, max(1, clients/8))
				var next atomic.Int64
				b.Run("service/"+be.Name, func(b *testing.B) {
					measure(b, clients, func(ctx context.Context) error {
						d, err := svc.Authorize(ctx, idco.AuthorizeRequest{Cluster: "a", Network: "n", Namespace: "bench", Pod: fmt.Sprintf("s%d", pods.Add(1)), Token: raw})
						return refused(d, err)
					})
				})
				b.Run("https+mtls/"+be.Name, func(b *testing.B) {
					measure(b, clients, func(ctx context.Context) error {
						c := cs[next.Add(1)%int64(len(cs))]
						d, err := c.Authorize(ctx, "a", idco.PodAuthorization{Network: "n", Namespace: "bench", Pod: fmt.Sprintf("p%d", pods.Add(1)), Token: raw})
						return refused(d, err)
					})
				})
			}
		})
	}
}

// refused turns a refusal into an error: every decision must be allowed.
func refused(d idco.Decision, err error) error {
	if err == nil && !d.Allowed {
		err = fmt.Errorf("refused: %s %s", d.Reason, d.Detail)
	}
	return err
}

// measure runs op b.N times from about clients goroutines (a multiple of
// GOMAXPROCS) and reports operations per second, the p99 latency and the
// CPU time per operation.
func measure(b *testing.B, clients int, op func(ctx context.Context) error) {
	ctx := context.Background()
	var mu sync.Mutex
	var lat []time.Duration
	b.SetParallelism(max(1, clients/runtime.GOMAXPROCS(0)))
	b.ResetTimer()
	cpu0 := cpuTime(b)
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		var mine []time.Duration
		for pb.Next() {
			t := time.Now()
			if err := op(ctx); err != nil {
				b.Error(err)
				return
			}
			mine = append(mine, time.Since(t))
		}
		mu.Lock()
		lat = append(lat, mine...)
		mu.Unlock()
	})
	elapsed := time.Since(start)
	cpu := cpuTime(b) - cpu0
	b.StopTimer()
	if len(lat) == 0 {
		return
	}
	slices.Sort(lat)
	b.ReportMetric(float64(len(lat))/elapsed.Seconds(), "decisions/s")
	b.ReportMetric(float64(lat[(len(lat)*99)/100].Microseconds())/1000, "p99-ms")
	// CPU time of the whole process (client, server, database client)
	// per operation: unlike decisions/s, it hardly moves with the load
	// other programs put on the machine.
	b.ReportMetric(float64(cpu.Microseconds())/float64(len(lat)), "cpu-us/op")
}

// cpuTime returns the user and system CPU time the process used so far.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatalf("getrusage: %v", err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// benchAPI serves a fresh IDCO on loopback where alice may join network n
// registered in cluster a, and returns the Service and conns clients of
// cluster a, each with its own connection.
func benchAPI(b *testing.B, dsn string, pub []byte, conns int) (*idco.Service, []*client.Client) {
	ctx, cancel := context.WithCancel(context.Background())
	dir := b.TempDir()
	must := func(err error) {
		if err != nil {
			b.Fatal(err)
		}
	}
	must(pki.Init(dir, []string{"127.0.0.1"}))
	must(pki.Enrol(dir, filepath.Join(dir, "a"), pki.Identity{Cluster: "a"}))
	db, err := store.Open(ctx, dsn)
	must(err)
	svc := idco.New(db)
	must(svc.AddUser(ctx, "alice"))
	_, err = svc.AddKey(ctx, "alice", pub)
	must(err)
	_, err = svc.RegisterNetwork(ctx, idco.Registration{Cluster: "a", Network: "n", Namespace: "bench", Name: "n", LocalVNI: 7,
		AccessList: []idco.AccessEntry{{User: "alice", PublicKeyPEM: string(pub)}}})
	must(err)
	tlsCfg, err := pki.ServerTLS(dir)
	must(err)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	must(err)
	done := make(chan error, 1)
	go func() { done <- server.New(svc, nil, nil).Serve(ctx, ln, tlsCfg) }()
	var cs []*client.Client
	for range conns {
		c, err := client.NewFromDir("https://"+ln.Addr().String(), filepath.Join(dir, "a"))
		must(err)
		cs = append(cs, c)
	}
	b.Cleanup(func() {
		for _, c := range cs {
			c.Close()
		}
		cancel()
		<-done
		db.Close()
	})
	return svc, cs
}
