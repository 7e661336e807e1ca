package netcheck

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"time"
)

// The echo service measures the request/response rate of a path: a client
// sends one byte, waits for it to come back, and sends the next, over one
// TCP connection (netperf's TCP_RR with one-byte messages). Each
// transaction is a full round trip, so the rate is bounded by the path's
// latency rather than its bandwidth.

// ServeEcho accepts connections on ln until ctx is done and writes back
// every byte each connection sends, as soon as it is read, until the peer
// closes; one line per connection is logged. ServeEcho closes ln; when ctx
// is done it closes the open connections and returns nil, else it returns
// the error that stopped Accept.
func ServeEcho(ctx context.Context, ln net.Listener, log *slog.Logger) error {
	return serveConns(ctx, ln, func(conn net.Conn) {
		n, err := echo(conn)
		log.Info("echo", "remote", conn.RemoteAddr().String(), "bytes", n, "err", err)
	})
}

// echo writes back what it reads from conn until EOF and returns the byte
// count. A plain loop rather than io.Copy(conn, conn): each read is
// answered at once, whatever its size.
func echo(conn net.Conn) (int64, error) {
	buf := make([]byte, 4096)
	var n int64
	for {
		r, err := conn.Read(buf)
		if r > 0 {
			if _, werr := conn.Write(buf[:r]); werr != nil {
				return n, fmt.Errorf("echo to %s: %w", conn.RemoteAddr(), werr)
			}
			n += int64(r)
		}
		if errors.Is(err, io.EOF) {
			return n, nil
		}
		if err != nil {
			return n, fmt.Errorf("read from %s: %w", conn.RemoteAddr(), err)
		}
	}
}

// RRResult describes a finished request/response run.
type RRResult struct {
	Transactions int64         // one-byte requests answered
	Elapsed      time.Duration // from the first request to the last answer
}

// Rate is the transactions per second, 0 for an empty run.
func (r RRResult) Rate() float64 {
	if r.Elapsed <= 0 {
		return 0
	}
	return float64(r.Transactions) / r.Elapsed.Seconds()
}

// String renders r as "rr 1234 transactions in 1.00s (1234 transactions/s)".
func (r RRResult) String() string {
	return fmt.Sprintf("rr %d transactions in %.2fs (%.0f transactions/s)", r.Transactions, r.Elapsed.Seconds(), r.Rate())
}

// RequestResponse connects to the echo service at addr and, over that one
// connection, sends one byte and waits for the same byte to come back,
// again and again, until count transactions are done (count > 0) or dur
// has passed since the first request (dur > 0), whichever comes first; at
// least one of them must be set. The connection is made before the clock
// starts. An answer other than the byte sent wraps ErrMismatch; ctx bounds
// the whole run.
func RequestResponse(ctx context.Context, addr string, count int64, dur time.Duration) (RRResult, error) {
	if count <= 0 && dur <= 0 {
		return RRResult{}, fmt.Errorf("request/response to %s: give a count or a duration above 0", addr)
	}
	conn, closeConn, err := dial(ctx, addr)
	if err != nil {
		return RRResult{}, err
	}
	defer closeConn()
	if err := conn.SetNoDelay(true); err != nil {
		return RRResult{}, fmt.Errorf("set TCP_NODELAY on %s: %w", addr, err)
	}
	var req, resp [1]byte
	var done int64
	start := time.Now()
	for count <= 0 || done < count {
		req[0] = byte(done)
		if _, err := conn.Write(req[:]); err != nil {
			return RRResult{}, fmt.Errorf("request %d to %s: %w", done+1, addr, ctxErr(ctx, err))
		}
		if _, err := io.ReadFull(conn, resp[:]); err != nil {
			return RRResult{}, fmt.Errorf("answer %d from %s: %w", done+1, addr, ctxErr(ctx, err))
		}
		if resp != req {
			return RRResult{}, fmt.Errorf("answer %d from %s is %#02x, sent %#02x: %w", done+1, addr, resp[0], req[0], ErrMismatch)
		}
		done++
		if dur > 0 && time.Since(start) >= dur {
			break
		}
	}
	return RRResult{Transactions: done, Elapsed: time.Since(start)}, nil
}
