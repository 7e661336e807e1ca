package main

import (
	"context"
	"crypto/rand"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"time"

	"switchboard/internal/netcheck"
)

const (
	defaultSendTimeout = 30 * time.Second
	defaultSendBytes   = 10 << 20
)

const sendDescription = `Send pseudo-random bytes to the TCP sink of "netcheck serve" at
HOST:PORT, half-close, and check that the sink's byte count and sha256 match
what was sent. Prints the throughput; exits 1 on a mismatch or error.`

const sendSynopsis = "send [--bytes 10485760] [--timeout 30s] [--discard] HOST:PORT"

func runSend(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet(sendSynopsis, sendDescription, stderr)
	n := fs.Int64("bytes", defaultSendBytes, "number of bytes to send")
	timeout := fs.Duration("timeout", defaultSendTimeout, "limit for the whole exchange")
	discard := fs.Bool("discard", false, "raw throughput: send zeros to the discard service (port 5002 of serve), check only the byte count")
	if err := parseArgs(fs, args, 1); err != nil {
		return err
	}
	if *n < 0 {
		fmt.Fprintf(stderr, "netcheck send: --bytes %d is negative\n", *n)
		return errUsage
	}
	var seed [32]byte
	rand.Read(seed[:])
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	if *discard {
		res, err := netcheck.SendDiscard(ctx, fs.Arg(0), *n)
		if err != nil {
			return err
		}
		secs := res.Elapsed.Seconds()
		fmt.Fprintf(stdout, "sent %d bytes in %.2fs (%.0f Mbit/s), count ok\n", res.Bytes, secs, float64(res.Bytes)*8/secs/1e6)
		return nil
	}
	res, err := netcheck.Send(ctx, fs.Arg(0), *n, mrand.NewChaCha8(seed))
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, res)
	return nil
}
