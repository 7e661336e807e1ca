package cnirpc

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"time"
)

// Paths served by the agent (package cnirpc/server).
const (
	PathCNI    = "/v1/cni"
	PathHealth = "/healthz"
)

// ErrAgentUnreachable is wrapped by the errors of Call and Health when
// nothing answers on the socket.
var ErrAgentUnreachable = errors.New("switchboard agent not reachable")

// MaxBody bounds what either side reads from the other. GC configurations
// list every valid attachment on the node, so this is generous.
const MaxBody = 8 << 20

// The plugin speaks HTTP/1.0 to the agent by hand, one request per
// connection: the plugin runs once per CNI call, and linking net/http
// (with crypto/tls and x509, whose package initialisation alone takes
// milliseconds) would add to every pod's start. The agent serves it with
// net/http.

// Call sends req to the agent listening on socket and returns its answer.
//
// A non-nil error means the exchange itself failed (agent unreachable, ctx
// done, garbled answer): the agent may or may not have acted. A CNI failure
// reported by the agent is not an error here; it is in Response.Error.
// Call honours ctx for the whole exchange and sets no timeout of its own.
func Call(ctx context.Context, socket string, req Request) (*Response, error) {
	body, err := json.Marshal(req)
	if err != nil {
		return nil, fmt.Errorf("encode %s request: %w", req.Command, err)
	}
	status, data, err := exchange(ctx, socket, "POST", PathCNI, body)
	if err != nil {
		return nil, err
	}
	var resp Response
	if err := json.Unmarshal(data, &resp); err != nil || !answered(status, &resp) {
		return nil, fmt.Errorf("switchboard agent at %s answered %s with HTTP %d: %s", socket, req.Command, status, snippet(data))
	}
	return &resp, nil
}

// answered tells whether an HTTP answer is a protocol answer: 200 with any
// Response, or 400 with a CNI error saying what was wrong with the request.
func answered(status int, resp *Response) bool {
	return status == 200 || (status == 400 && resp.Error != nil)
}

// Health asks the agent listening on socket whether it is ready to serve CNI
// requests. It returns nil if so.
func Health(ctx context.Context, socket string) error {
	status, data, err := exchange(ctx, socket, "GET", PathHealth, nil)
	if err != nil {
		return err
	}
	if status != 200 {
		return fmt.Errorf("switchboard agent at %s is not ready: HTTP %d: %s", socket, status, snippet(data))
	}
	return nil
}

// exchange makes one HTTP/1.0 request on a new connection to socket and
// returns the answer's status and body (read to the end: the agent closes
// the connection after an HTTP/1.0 answer).
func exchange(ctx context.Context, socket, method, path string, body []byte) (int, []byte, error) {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "unix", socket)
	if err != nil {
		if ctx.Err() != nil {
			return 0, nil, fmt.Errorf("call switchboard agent at %s: %w", socket, ctx.Err())
		}
		return 0, nil, fmt.Errorf("%w at %s: is the switchboard-agent pod running on this node? (%w)", ErrAgentUnreachable, socket, err)
	}
	defer conn.Close()
	stop := context.AfterFunc(ctx, func() { _ = conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	fail := func(err error) (int, []byte, error) {
		if ctx.Err() != nil {
			err = ctx.Err()
		}
		return 0, nil, fmt.Errorf("call switchboard agent at %s: %w", socket, err)
	}
	head := method + " " + path + " HTTP/1.0\r\nHost: switchboard-agent\r\n"
	if body != nil {
		head += "Content-Type: application/json\r\nContent-Length: " + strconv.Itoa(len(body)) + "\r\n"
	}
	if _, err := conn.Write(append([]byte(head+"\r\n"), body...)); err != nil {
		return fail(err)
	}
	r := bufio.NewReader(io.LimitReader(conn, MaxBody))
	line, err := r.ReadString('\n')
	if err != nil {
		return fail(fmt.Errorf("read the answer's status line: %w", err))
	}
	// "HTTP/1.x 200 OK"
	f := strings.Fields(line)
	status := 0
	if len(f) >= 2 && strings.HasPrefix(f[0], "HTTP/1.") {
		status, _ = strconv.Atoi(f[1])
	}
	if status == 0 {
		return fail(fmt.Errorf("not an HTTP answer: %q", snippet([]byte(line))))
	}
	for { // headers, up to the blank line
		h, err := r.ReadString('\n')
		if err != nil {
			return fail(fmt.Errorf("read the answer's headers: %w", err))
		}
		if strings.TrimRight(h, "\r\n") == "" {
			break
		}
	}
	data, err := io.ReadAll(r)
	if err != nil {
		return fail(fmt.Errorf("read the answer: %w", err))
	}
	return status, data, nil
}

// snippet shortens a body for an error message.
func snippet(data []byte) string {
	s := strings.TrimSpace(string(data))
	if len(s) > 200 {
		s = s[:200] + "..."
	}
	if s == "" {
		s = "(empty body)"
	}
	return s
}
