package netnstest

import (
	"bufio"
	"cmp"
	"encoding/json"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"testing"
	"time"
)

// IperfRun is one single-stream TCP iperf3 run.
type IperfRun struct {
	Port    int // 0: 5201
	Seconds int // measured seconds, after one omitted second; 0: 5
	// Reverse makes the server send and the client receive (iperf3 -R).
	Reverse bool
}

// Iperf runs an iperf3 server in server (one test, then it exits) bound to
// dst and a single-stream client in client towards dst, and returns the
// TCP goodput the receiving side counted, in bit/s. The first second (slow
// start, a shaper's initial burst) is omitted from the figure.
func Iperf(tb testing.TB, client, server *NS, dst netip.Addr, run IperfRun) float64 {
	tb.Helper()
	port, secs := strconv.Itoa(cmp.Or(run.Port, 5201)), strconv.Itoa(cmp.Or(run.Seconds, 5))
	srv := server.Command("iperf3", "-s", "-1", "--forceflush", "-B", dst.String(), "-p", port)
	out, err := srv.StdoutPipe()
	if err != nil {
		tb.Fatal(err)
	}
	if err := srv.Start(); err != nil {
		tb.Fatalf("start iperf3 server: %v", err)
	}
	defer func() { _ = srv.Process.Kill(); _ = srv.Wait() }()
	listening := make(chan bool, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if strings.Contains(sc.Text(), "Server listening") {
				listening <- true
			}
		}
		close(listening)
	}()
	select {
	case ok := <-listening:
		if !ok {
			tb.Fatal("iperf3 server ended before listening")
		}
	case <-time.After(30 * time.Second):
		tb.Fatal("iperf3 server: not listening after 30 s")
	}
	args := []string{"iperf3", "-c", dst.String(), "-p", port, "-t", secs, "-O", "1", "-J"}
	if run.Reverse {
		args = append(args, "-R")
	}
	res, err := client.Exec(args...)
	if err != nil {
		tb.Fatalf("iperf3 to %s: %v: %s", dst, err, res)
	}
	var r struct {
		End struct {
			SumReceived struct {
				BitsPerSecond float64 `json:"bits_per_second"`
			} `json:"sum_received"`
		} `json:"end"`
	}
	if err := json.Unmarshal([]byte(res), &r); err != nil {
		tb.Fatalf("read iperf3's JSON: %v: %s", err, res)
	}
	bps := r.End.SumReceived.BitsPerSecond
	tb.Logf("iperf3 to %s (reverse %v): %s Mbit/s", dst, run.Reverse, fmt.Sprintf("%.2f", bps/1e6))
	return bps
}

// WireRate converts the TCP goodput of full-size IPv4 segments with
// timestamps (what iperf3 reports) at the given MTU to the rate of the
// Ethernet frames that carry it, which is what a tc shaper counts: each
// frame carries MTU-52 bytes of payload in MTU+14 bytes.
func WireRate(goodput float64, mtu int) float64 {
	return goodput * float64(mtu+14) / float64(mtu-52)
}
