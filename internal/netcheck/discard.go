package netcheck

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"time"
)

// The discard service measures raw TCP throughput: unlike the sink it
// neither hashes nor keeps anything, so that the network path, not the
// CPU spent on checksums, is what a transfer measures. Its reply is the
// byte count alone, "<bytecount>\n".

const discardBuffer = 256 << 10

// ServeDiscard accepts connections on ln until ctx is done, drains each
// until the peer half-closes and answers with the byte count. It closes ln
// and returns nil when ctx is done.
func ServeDiscard(ctx context.Context, ln net.Listener, log *slog.Logger) error {
	return serveConns(ctx, ln, func(conn net.Conn) {
		n, err := io.CopyBuffer(io.Discard, conn, make([]byte, discardBuffer))
		if err == nil {
			_, err = io.WriteString(conn, strconv.FormatInt(n, 10)+"\n")
		}
		log.Info("discard", "remote", conn.RemoteAddr().String(), "bytes", n, "err", err)
	})
}

// SendDiscard writes n zero bytes to the discard service at addr in large
// writes, half-closes, and checks the byte count it answers.
func SendDiscard(ctx context.Context, addr string, n int64) (SendResult, error) {
	start := time.Now()
	conn, closeConn, err := dial(ctx, addr)
	if err != nil {
		return SendResult{}, err
	}
	defer closeConn()
	buf := make([]byte, discardBuffer)
	var sent int64
	for sent < n {
		chunk := buf[:min(int64(len(buf)), n-sent)]
		w, err := conn.Write(chunk)
		sent += int64(w)
		if err != nil {
			return SendResult{}, fmt.Errorf("send to %s after %d bytes: %w", addr, sent, ctxErr(ctx, err))
		}
	}
	if err := conn.CloseWrite(); err != nil {
		return SendResult{}, fmt.Errorf("half-close %s: %w", addr, err)
	}
	line, err := bufio.NewReader(io.LimitReader(conn, 64)).ReadString('\n')
	if err != nil {
		return SendResult{}, fmt.Errorf("read reply from %s: %w", addr, ctxErr(ctx, err))
	}
	got, err := strconv.ParseInt(strings.TrimSpace(line), 10, 64)
	if err != nil || got != sent {
		return SendResult{}, fmt.Errorf("discard service at %s received %q bytes, sent %d: %w", addr, strings.TrimSpace(line), sent, ErrMismatch)
	}
	return SendResult{Bytes: sent, Elapsed: time.Since(start)}, nil
}
