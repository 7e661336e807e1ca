package cnirpc

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
)

// Paths served by Serve.
const (
	PathCNI    = "/v1/cni"
	PathHealth = "/healthz"
)

// ErrAgentUnreachable is wrapped by the errors of Call and Health when
// nothing answers on the socket.
var ErrAgentUnreachable = errors.New("switchboard agent not reachable")

// maxBody bounds what either side reads from the other. GC configurations
// list every valid attachment on the node, so this is generous.
const maxBody = 8 << 20

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
	httpReq, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://switchboard-agent"+PathCNI, bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("build %s request: %w", req.Command, err)
	}
	httpReq.Header.Set("Content-Type", "application/json")
	httpResp, err := client(socket).Do(httpReq)
	if err != nil {
		return nil, exchangeError(ctx, socket, err)
	}
	defer httpResp.Body.Close()

	data, err := io.ReadAll(io.LimitReader(httpResp.Body, maxBody))
	if err != nil {
		return nil, exchangeError(ctx, socket, err)
	}
	var resp Response
	if err := json.Unmarshal(data, &resp); err != nil || !answered(httpResp.StatusCode, &resp) {
		return nil, fmt.Errorf("switchboard agent at %s answered %s with HTTP %d: %s", socket, req.Command, httpResp.StatusCode, snippet(data))
	}
	return &resp, nil
}

// answered tells whether an HTTP answer is a protocol answer: 200 with any
// Response, or 400 with a CNI error saying what was wrong with the request.
func answered(status int, resp *Response) bool {
	return status == http.StatusOK || (status == http.StatusBadRequest && resp.Error != nil)
}

// Health asks the agent listening on socket whether it is ready to serve CNI
// requests. It returns nil if so.
func Health(ctx context.Context, socket string) error {
	httpReq, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://switchboard-agent"+PathHealth, nil)
	if err != nil {
		return fmt.Errorf("build health request: %w", err)
	}
	httpResp, err := client(socket).Do(httpReq)
	if err != nil {
		return exchangeError(ctx, socket, err)
	}
	defer httpResp.Body.Close()
	data, _ := io.ReadAll(io.LimitReader(httpResp.Body, 4096))
	if httpResp.StatusCode != http.StatusOK {
		return fmt.Errorf("switchboard agent at %s is not ready: HTTP %d: %s", socket, httpResp.StatusCode, snippet(data))
	}
	return nil
}

// dialError marks a failure to connect, as opposed to a failure after the
// connection was made.
type dialError struct{ err error }

func (e *dialError) Error() string { return e.err.Error() }
func (e *dialError) Unwrap() error { return e.err }

// client returns an HTTP client that reaches the agent on socket. One client
// serves one call: the plugin makes a single call per process.
func client(socket string) *http.Client {
	dial := func(ctx context.Context, _, _ string) (net.Conn, error) {
		var d net.Dialer
		conn, err := d.DialContext(ctx, "unix", socket)
		if err != nil {
			return nil, &dialError{err: err}
		}
		return conn, nil
	}
	return &http.Client{Transport: &http.Transport{DialContext: dial, DisableKeepAlives: true}}
}

// exchangeError turns an HTTP client error into one that says what to do.
func exchangeError(ctx context.Context, socket string, err error) error {
	if ctxErr := ctx.Err(); ctxErr != nil {
		return fmt.Errorf("call switchboard agent at %s: %w", socket, ctxErr)
	}
	if de, ok := errors.AsType[*dialError](err); ok {
		return fmt.Errorf("%w at %s: is the switchboard-agent pod running on this node? (%w)", ErrAgentUnreachable, socket, de.err)
	}
	return fmt.Errorf("call switchboard agent at %s: %w", socket, err)
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
