package server_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"switchboard/internal/cnirpc"
	"switchboard/internal/cnirpc/cnirpctest"
	"switchboard/internal/cnirpc/server"
)

func TestServeRejectsBadRequests(t *testing.T) {
	agent := cnirpctest.Start(t, nil)
	tests := []struct {
		name     string
		body     string
		wantCode uint
		wantMsg  string
	}{
		{"malformed JSON", `{"command":`, 6, "decode request"},
		{"unknown command", `{"command":"ATTACH","config":"e30="}`, 4, `invalid command: "ATTACH" is not one of ADD, DEL, CHECK, STATUS, GC`},
		{"missing ifName", `{"command":"ADD","containerID":"c","netns":"/n","config":"e30="}`, 4, "invalid ifName: required for ADD"},
		{"missing config", `{"command":"GC"}`, 6, "invalid config: required for GC"},
		{"config not JSON", `{"command":"GC","config":"bm90IGpzb24="}`, 6, "invalid config: not valid JSON"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, resp := post(t, agent.Socket, tt.body)
			if status != http.StatusBadRequest {
				t.Errorf("status = %d, want 400", status)
			}
			if resp.Error == nil || resp.Error.Code != tt.wantCode || !strings.Contains(resp.Error.Msg, tt.wantMsg) {
				t.Errorf("error = %#v, want code %d and message containing %q", resp.Error, tt.wantCode, tt.wantMsg)
			}
		})
	}
	if n := len(agent.Requests()); n != 0 {
		t.Errorf("handler saw %d rejected requests, want 0", n)
	}
}

// post sends body to the CNI endpoint on socket and decodes the answer.
func post(t *testing.T, socket, body string) (int, cnirpc.Response) {
	t.Helper()
	client := &http.Client{Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, "unix", socket)
		},
	}}
	resp, err := client.Post("http://agent"+cnirpc.PathCNI, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	var r cnirpc.Response
	if err := json.Unmarshal(data, &r); err != nil {
		t.Fatalf("decode %q: %v", data, err)
	}
	return resp.StatusCode, r
}

func TestServeStopsWhenContextDone(t *testing.T) {
	socket := filepath.Join(cnirpctest.ShortTempDir(t), "cni.sock")
	l, err := cnirpc.Listen(socket)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() {
		done <- server.Serve(ctx, l, server.HandlerFunc(func(context.Context, cnirpc.Request) *cnirpc.Response { return nil }))
	}()
	if err := cnirpc.Health(t.Context(), socket); err != nil {
		t.Fatalf("Health while serving: %v", err)
	}

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Serve = %v, want nil after ctx is done", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Serve did not return after ctx was done")
	}
	if _, err := os.Lstat(socket); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("socket file after Serve returned: %v, want it removed", err)
	}
}
