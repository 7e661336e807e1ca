package netcheck

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	neturl "net/url"
	"strings"
	"time"
)

// Get fetches url with client and copies the body to w. A URL without a
// scheme gets "http://". A status outside 2xx is an error that quotes the
// start of the body; nothing is written to w then.
func Get(ctx context.Context, client *http.Client, url string, w io.Writer) error {
	if !strings.Contains(url, "://") {
		url = "http://" + url
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return fmt.Errorf("get %q: %w", url, err)
	}
	resp, err := client.Do(req)
	if err != nil {
		var uerr *neturl.Error // drop its redundant "Get URL: " prefix
		if errors.As(err, &uerr) {
			err = uerr.Err
		}
		return fmt.Errorf("get %q: %w", url, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 256))
		return fmt.Errorf("get %q: status %s: %q", url, resp.Status, strings.TrimSpace(string(body)))
	}
	if _, err := io.Copy(w, resp.Body); err != nil {
		return fmt.Errorf("read body of %q: %w", url, err)
	}
	return nil
}

// SendResult describes a completed, verified Send.
type SendResult struct {
	Bytes   int64
	SHA256  string
	Elapsed time.Duration
}

// String renders r as "sent N bytes in 0.12s (690 Mbit/s), sha256 ok".
func (r SendResult) String() string {
	secs := r.Elapsed.Seconds()
	rate := "n/a"
	if secs > 0 {
		rate = fmt.Sprintf("%.0f Mbit/s", float64(r.Bytes)*8/secs/1e6)
	}
	return fmt.Sprintf("sent %d bytes in %.2fs (%s), sha256 ok", r.Bytes, secs, rate)
}

// Send connects to the sink at addr, writes n bytes read from src,
// half-closes the connection and checks the sink's reply against what was
// written. A disagreement wraps ErrMismatch. ctx bounds the whole exchange.
func Send(ctx context.Context, addr string, n int64, src io.Reader) (SendResult, error) {
	start := time.Now()
	conn, closeConn, err := dial(ctx, addr)
	if err != nil {
		return SendResult{}, err
	}
	defer closeConn()

	h := sha256.New()
	sent, err := io.Copy(io.MultiWriter(conn, h), io.LimitReader(src, n))
	if err == nil && sent < n {
		err = io.ErrUnexpectedEOF
	}
	if err != nil {
		return SendResult{}, fmt.Errorf("send to %s after %d bytes: %w", addr, sent, ctxErr(ctx, err))
	}
	if err := conn.CloseWrite(); err != nil {
		return SendResult{}, fmt.Errorf("half-close %s: %w", addr, err)
	}
	line, err := bufio.NewReader(io.LimitReader(conn, 256)).ReadString('\n')
	if err != nil {
		return SendResult{}, fmt.Errorf("read reply from %s: %w", addr, ctxErr(ctx, err))
	}
	result := SendResult{Bytes: sent, SHA256: hex.EncodeToString(h.Sum(nil)), Elapsed: time.Since(start)}
	return result, verify(result, line)
}

// verify compares the sink's reply line with what was sent.
func verify(sent SendResult, line string) error {
	got, sum, err := ParseReply(line)
	if err != nil {
		return err
	}
	if got != sent.Bytes {
		return fmt.Errorf("sink received %d bytes, sent %d: %w", got, sent.Bytes, ErrMismatch)
	}
	if sum != sent.SHA256 {
		return fmt.Errorf("sink sha256 %s, sent %s: %w", sum, sent.SHA256, ErrMismatch)
	}
	return nil
}

// dial connects to addr over TCP; the connection is closed when ctx ends
// (so that blocked reads and writes return) or when closeConn is called.
func dial(ctx context.Context, addr string) (conn *net.TCPConn, closeConn func(), err error) {
	var d net.Dialer
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, nil, fmt.Errorf("connect to %s: %w", addr, err)
	}
	stop := context.AfterFunc(ctx, func() { c.Close() })
	return c.(*net.TCPConn), func() { stop(); c.Close() }, nil
}

// ctxErr prefers the context's error, which explains a closed connection.
func ctxErr(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return fmt.Errorf("%w (%v)", context.Cause(ctx), err)
	}
	return err
}
