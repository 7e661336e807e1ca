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
with one line "<bytecount> <sha256hex>". Discard: the same, answered with
the byte count alone (see send --discard). Echo (off unless --echo is
given): every byte is written back as it arrives (see rr). An empty
address disables a server.
One line per HTTP request and TCP connection is logged to stderr.`

const serveSynopsis = "serve [--http :8080] [--tcp :5001] [--discard :5002] [--echo ADDR]"

func runServe(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet(serveSynopsis, serveDescription, stderr)
	httpAddr := fs.String("http", ":8080", "HTTP listen `address`")
	tcpAddr := fs.String("tcp", ":5001", "TCP sink listen `address`")
	discardAddr := fs.String("discard", ":5002", "discard (raw throughput) listen `address`")
	echoAddr := fs.String("echo", "", "echo (request/response) listen `address`, e.g. :5003; off when empty")
	if err := parseArgs(fs, args, 0); err != nil {
		return err
	}
	if *httpAddr == "" && *tcpAddr == "" && *discardAddr == "" && *echoAddr == "" {
		fmt.Fprintln(stderr, "netcheck serve: --http, --tcp, --discard and --echo are all empty; nothing to serve")
		return errUsage
	}
	log := slog.New(slog.NewTextHandler(stderr, nil))
	var ls netcheck.Listeners
	var opened []net.Listener
	for _, l := range []struct {
		addr string
		ln   *net.Listener
	}{{*httpAddr, &ls.HTTP}, {*tcpAddr, &ls.Sink}, {*discardAddr, &ls.Discard}, {*echoAddr, &ls.Echo}} {
		if l.addr == "" {
			continue
		}
		ln, err := net.Listen("tcp", l.addr)
		if err != nil {
			for _, o := range opened {
				o.Close()
			}
			return fmt.Errorf("listen on %q: %w", l.addr, err)
		}
		*l.ln = ln
		opened = append(opened, ln)
		log.Info("listening", "addr", ln.Addr().String())
	}
	if err := netcheck.Serve(ctx, ls, log); err != nil {
		return err
	}
	log.Info("stopped", "cause", context.Cause(ctx))
	return nil
}
