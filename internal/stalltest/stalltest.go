// Package stalltest checks that an HTTP server hangs up on a client that
// stalls in the middle of a request: one that sends the headers of a
// request with a body, part of the body, and then nothing. A server without
// a read timeout keeps such a connection, and the goroutine serving it,
// forever; a few thousand such clients exhaust it.
package stalltest

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"testing"
	"time"
)

// patience is how long HangsUp waits for the server to hang up: far longer
// than the read timeout a test gives the server, so that a slow machine
// never fails the test, and short enough to end a test of a server that
// never hangs up.
const patience = 30 * time.Second

// HangsUp sends, on a connection from dial, the headers of a POST to path
// announcing a 100-byte body and 10 bytes of it, then waits for the server
// to close the connection. Whatever the server answers first (an error
// status, say) is ignored; the test fails if the connection is still open
// after a generous wait.
func HangsUp(t testing.TB, dial func() (net.Conn, error), path string) {
	t.Helper()
	conn, err := dial()
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	defer conn.Close()
	req := fmt.Sprintf("POST %s HTTP/1.1\r\nHost: stalltest\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"partial\"", path)
	if _, err := io.WriteString(conn, req); err != nil {
		t.Fatalf("send a partial request: %v", err)
	}
	if err := conn.SetReadDeadline(time.Now().Add(patience)); err != nil {
		t.Fatal(err)
	}
	_, err = io.Copy(io.Discard, conn)
	if errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("the server kept a connection whose request body stalled open for %s: give it a ReadTimeout", patience)
	}
	// io.Copy returns nil at EOF; a reset connection is hung up too.
}
