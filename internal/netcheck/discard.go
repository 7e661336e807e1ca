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
	"sync"
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
			n, err := io.CopyBuffer(io.Discard, conn, make([]byte, discardBuffer))
			if err == nil {
				_, err = io.WriteString(conn, strconv.FormatInt(n, 10)+"\n")
			}
			log.Info("discard", "remote", conn.RemoteAddr().String(), "bytes", n, "err", err)
		}()
	}
}

// SendDiscard writes n zero bytes to the discard service at addr in large
// writes, half-closes, and checks the byte count it answers.
func SendDiscard(ctx context.Context, addr string, n int64) (SendResult, error) {
	start := time.Now()
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return SendResult{}, fmt.Errorf("connect to %s: %w", addr, err)
	}
	defer conn.Close()
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
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
	if err := conn.(*net.TCPConn).CloseWrite(); err != nil {
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
