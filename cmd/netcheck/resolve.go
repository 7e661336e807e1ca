package main

import (
	"context"
	"io"
	"time"

	"switchboard/internal/netcheck"
)

const resolveDescription = `Look NAME up as a pod's applications do (Go's stub resolver: nameservers,
search path and ndots from /etc/resolv.conf) and print its addresses, sorted,
one per line. With --server, send the queries to that DNS server instead.
Exits 1 with "NXDOMAIN" in the message when the name does not exist, 1 with
another message on any other failure.`

const resolveSynopsis = "resolve [--server HOST:PORT] [--timeout 5s] NAME"

func runResolve(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet(resolveSynopsis, resolveDescription, stderr)
	server := fs.String("server", "", "DNS server to ask (host:port); default: the nameservers of /etc/resolv.conf")
	timeout := fs.Duration("timeout", 5*time.Second, "limit for the whole lookup")
	if err := parseArgs(fs, args, 1); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	return netcheck.Resolve(ctx, netcheck.NewResolver(*server), fs.Arg(0), stdout)
}
