package netcheck

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"sync"
)

// ServeSink accepts connections on ln until ctx is done. It reads each
// connection until the peer half-closes, answers with one line
// "<bytecount> <sha256hex>\n" and closes it, logging one line per
// connection. ServeSink closes ln; when ctx is done it closes the open
// connections, waits for their goroutines and returns nil. Otherwise it
// returns the error that stopped Accept.
func ServeSink(ctx context.Context, ln net.Listener, log *slog.Logger) error {
	return serveConns(ctx, ln, func(conn net.Conn) {
		n, sum, err := sink(conn)
		if err != nil {
			log.Warn("tcp", "remote", conn.RemoteAddr().String(), "bytes", n, "err", err)
			return
		}
		log.Info("tcp", "remote", conn.RemoteAddr().String(), "bytes", n, "sha256", sum)
	})
}

// serveConns accepts connections on ln until ctx is done and runs handle
// for each in its own goroutine, closing the connection afterwards, or at
// once when ctx is done. It closes ln; when ctx is done it waits for the
// handlers and returns nil, else it returns the error that stopped Accept.
func serveConns(ctx context.Context, ln net.Listener, handle func(net.Conn)) error {
	stop := context.AfterFunc(ctx, func() { ln.Close() })
	defer stop()
	var wg sync.WaitGroup
	defer wg.Wait()
	for {
		conn, err := ln.Accept()
		if err != nil {
			ln.Close()
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("accept on %s: %w", ln.Addr(), err)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer conn.Close()
			stopConn := context.AfterFunc(ctx, func() { conn.Close() })
			defer stopConn()
			handle(conn)
		}()
	}
}

// sink drains conn, replies with the count and digest, and closes it.
func sink(conn net.Conn) (int64, string, error) {
	defer conn.Close()
	h := sha256.New()
	n, err := io.Copy(h, conn)
	if err != nil {
		return n, "", fmt.Errorf("read from %s: %w", conn.RemoteAddr(), err)
	}
	sum := hex.EncodeToString(h.Sum(nil))
	if _, err := io.WriteString(conn, FormatReply(n, sum)); err != nil {
		return n, sum, fmt.Errorf("reply to %s: %w", conn.RemoteAddr(), err)
	}
	return n, sum, nil
}

// FormatReply returns the sink's reply line for n bytes with hex digest sum.
func FormatReply(n int64, sum string) string {
	return strconv.FormatInt(n, 10) + " " + sum + "\n"
}

// ParseReply parses a sink reply line, with or without its newline.
func ParseReply(line string) (n int64, sum string, err error) {
	count, sum, ok := strings.Cut(strings.TrimSuffix(line, "\n"), " ")
	if !ok {
		return 0, "", fmt.Errorf("parse sink reply %q: want \"<bytes> <sha256hex>\"", line)
	}
	n, err = strconv.ParseInt(count, 10, 64)
	if err != nil || n < 0 {
		return 0, "", fmt.Errorf("parse sink reply %q: bad byte count", line)
	}
	if b, err := hex.DecodeString(sum); err != nil || len(b) != sha256.Size {
		return 0, "", fmt.Errorf("parse sink reply %q: bad sha256", line)
	}
	return n, sum, nil
}

// ErrMismatch is wrapped by Send's error when the sink saw other bytes than
// were sent.
var ErrMismatch = errors.New("sink saw different data")
