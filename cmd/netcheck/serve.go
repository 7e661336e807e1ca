package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"

	"switchboard/internal/netcheck"
)

const serveDescription = `Serve HTTP and a TCP sink until SIGTERM or SIGINT.

HTTP: GET / returns {"hostname", "remote", "addrs"} as JSON,
GET /bytes?n=N streams N bytes, GET /healthz returns "ok".
TCP: each connection is read until the client half-closes, then answered
with one line "<bytecount> <sha256hex>". An empty address disables a server.
One line per HTTP request and TCP connection is logged to stderr.`

const serveSynopsis = "serve [--http :8080] [--tcp :5001] [--discard :5002]"

func runServe(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet(serveSynopsis, serveDescription, stderr)
	httpAddr := fs.String("http", ":8080", "HTTP listen `address`")
	tcpAddr := fs.String("tcp", ":5001", "TCP sink listen `address`")
	discardAddr := fs.String("discard", ":5002", "discard (raw throughput) listen `address`")
	if err := parseArgs(fs, args, 0); err != nil {
		return err
	}
	if *httpAddr == "" && *tcpAddr == "" && *discardAddr == "" {
		fmt.Fprintln(stderr, "netcheck serve: --http, --tcp and --discard are all empty; nothing to serve")
		return errUsage
	}
	log := slog.New(slog.NewTextHandler(stderr, nil))
	httpLn, err := listen(*httpAddr)
	if err != nil {
		return err
	}
	tcpLn, err := listen(*tcpAddr)
	if err != nil {
		if httpLn != nil {
			httpLn.Close()
		}
		return err
	}
	discardLn, err := listen(*discardAddr)
	if err != nil {
		for _, ln := range []net.Listener{httpLn, tcpLn} {
			if ln != nil {
				ln.Close()
			}
		}
		return err
	}
	for _, ln := range []net.Listener{httpLn, tcpLn, discardLn} {
		if ln != nil {
			log.Info("listening", "addr", ln.Addr().String())
		}
	}
	if err := netcheck.Serve(ctx, httpLn, tcpLn, discardLn, log); err != nil {
		return err
	}
	log.Info("stopped", "cause", context.Cause(ctx))
	return nil
}

// listen opens a TCP listener on addr, or returns nil for an empty addr.
func listen(addr string) (net.Listener, error) {
	if addr == "" {
		return nil, nil
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listen on %q: %w", addr, err)
	}
	return ln, nil
}
