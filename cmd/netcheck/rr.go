package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"switchboard/internal/netcheck"
)

const rrDescription = `Measure the request/response rate to the echo service of "netcheck serve"
(--echo) at HOST:PORT: over one TCP connection, send one byte, wait for it
to come back, and again, for --for or --count transactions (whichever
ends first; 0 turns a limit off). Prints
"rr N transactions in Xs (R transactions/s)"; exits 1 on a wrong answer
or error.`

const rrSynopsis = "rr [--for 5s] [--count 0] [--timeout 60s] HOST:PORT"

const (
	defaultRRFor     = 5 * time.Second
	defaultRRTimeout = 60 * time.Second
)

func runRR(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet(rrSynopsis, rrDescription, stderr)
	dur := fs.Duration("for", defaultRRFor, "how long to run; 0 for no time limit (then give --count)")
	count := fs.Int64("count", 0, "stop after this many transactions; 0 for no count limit")
	timeout := fs.Duration("timeout", defaultRRTimeout, "limit for the whole run, connection included")
	if err := parseArgs(fs, args, 1); err != nil {
		return err
	}
	if *dur < 0 || *count < 0 || (*dur == 0 && *count == 0) {
		fmt.Fprintf(stderr, "netcheck rr: --for %s, --count %d: give a positive --for or --count (neither negative)\n", *dur, *count)
		fs.Usage()
		return errUsage
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	res, err := netcheck.RequestResponse(ctx, fs.Arg(0), *count, *dur)
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, res)
	return nil
}
