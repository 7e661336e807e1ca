package cnirpc_test

import (
	"context"
	"encoding/json"
	"errors"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/containernetworking/cni/pkg/types"

	"switchboard/internal/cnirpc"
	"switchboard/internal/cnirpc/cnirpctest"
	"switchboard/internal/cnirpc/server"
)

const testConfig = `{"cniVersion":"1.1.0", "name":"red", "type":"switchboard"}`

const testResult = `{"cniVersion":"1.1.0","interfaces":[{"name":"net1","mac":"02:00:00:00:00:01","sandbox":"/var/run/netns/p"}],"ips":[{"address":"10.0.0.5/24","interface":0}]}`

func TestCallRoundTrip(t *testing.T) {
	agent := cnirpctest.Start(t, func(req cnirpc.Request) *cnirpc.Response {
		if req.Command == cnirpc.CommandAdd {
			return &cnirpc.Response{Result: json.RawMessage(testResult)}
		}
		return nil
	})
	requests := []cnirpc.Request{
		{Command: "ADD", ContainerID: "c1", NetNS: "/var/run/netns/p", IfName: "net1", Args: "K8S_POD_NAMESPACE=ns;K8S_POD_NAME=p", Path: "/opt/cni/bin", Config: []byte(testConfig)},
		{Command: "CHECK", ContainerID: "c1", NetNS: "/var/run/netns/p", IfName: "net1", Config: []byte(testConfig)},
		{Command: "DEL", ContainerID: "c1", IfName: "net1", Config: []byte(testConfig)},
		{Command: "STATUS", Config: []byte(testConfig)},
		{Command: "GC", Path: "/opt/cni/bin", Config: []byte(`{"cniVersion":"1.1.0","name":"red","type":"switchboard","cni.dev/valid-attachments":[{"containerID":"c2","ifname":"net1"}]}`)},
	}
	for i, req := range requests {
		resp, err := cnirpc.Call(t.Context(), agent.Socket, req)
		if err != nil {
			t.Fatalf("%s: %v", req.Command, err)
		}
		if got := agent.Requests()[i]; !reflect.DeepEqual(got, req) {
			t.Errorf("%s: agent received %+v, want %+v", req.Command, got, req)
		}
		want := ""
		if req.Command == cnirpc.CommandAdd {
			want = testResult
		}
		if string(resp.Result) != want || resp.Error != nil {
			t.Errorf("%s: response = {Result: %s, Error: %v}, want {Result: %s}", req.Command, resp.Result, resp.Error, want)
		}
	}
}

func TestCallPassesCNIErrorThrough(t *testing.T) {
	want := &types.Error{Code: 7, Msg: `network "red" not found`, Details: "create the Network or fix the annotation"}
	agent := cnirpctest.Start(t, func(cnirpc.Request) *cnirpc.Response { return &cnirpc.Response{Error: want} })

	resp, err := cnirpc.Call(t.Context(), agent.Socket, cnirpc.Request{Command: "ADD", ContainerID: "c", NetNS: "/n", IfName: "net1", Config: []byte(testConfig)})
	if err != nil {
		t.Fatalf("Call: %v", err)
	}
	if !reflect.DeepEqual(resp.Error, want) || resp.Result != nil {
		t.Errorf("response = {Result: %s, Error: %#v}, want {Error: %#v}", resp.Result, resp.Error, want)
	}
}

func TestCallUnreachable(t *testing.T) {
	socket := filepath.Join(cnirpctest.ShortTempDir(t), "cni.sock")
	_, err := cnirpc.Call(t.Context(), socket, cnirpc.Request{Command: "DEL", ContainerID: "c", IfName: "net1", Config: []byte(testConfig)})
	if !errors.Is(err, cnirpc.ErrAgentUnreachable) {
		t.Fatalf("Call error = %v, want ErrAgentUnreachable", err)
	}
	want := "switchboard agent not reachable at " + socket + ": is the switchboard-agent pod running on this node?"
	if !strings.Contains(err.Error(), want) {
		t.Errorf("Call error = %q, want it to contain %q", err, want)
	}
	if err := cnirpc.Health(t.Context(), socket); !errors.Is(err, cnirpc.ErrAgentUnreachable) {
		t.Errorf("Health error = %v, want ErrAgentUnreachable", err)
	}
}

func TestCallHonoursContext(t *testing.T) {
	cancelled := make(chan struct{})
	socket := serve(t, server.HandlerFunc(func(ctx context.Context, _ cnirpc.Request) *cnirpc.Response {
		<-ctx.Done() // the plugin gave up: the agent's request context ends too
		close(cancelled)
		return nil
	}))

	ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
	defer cancel()
	_, err := cnirpc.Call(ctx, socket, cnirpc.Request{Command: "STATUS", Config: []byte(testConfig)})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Call error = %v, want context.DeadlineExceeded", err)
	}
	select {
	case <-cancelled:
	case <-time.After(5 * time.Second):
		t.Error("handler's context was not cancelled after the caller gave up")
	}
}

func TestHealth(t *testing.T) {
	agent := cnirpctest.Start(t, nil)
	if err := cnirpc.Health(t.Context(), agent.Socket); err != nil {
		t.Errorf("Health of a healthy agent: %v", err)
	}
	agent.SetHealth(errors.New("not synced with the API server yet"))
	err := cnirpc.Health(t.Context(), agent.Socket)
	if err == nil || !strings.Contains(err.Error(), "HTTP 503: not synced with the API server yet") {
		t.Errorf("Health of an unhealthy agent = %v, want HTTP 503 with the agent's reason", err)
	}
}

// serve serves h on a fresh socket until the test ends and returns the path.
func serve(t *testing.T, h server.Handler) string {
	t.Helper()
	socket := filepath.Join(cnirpctest.ShortTempDir(t), "cni.sock")
	l, err := cnirpc.Listen(socket)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- server.Serve(ctx, l, h) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	return socket
}
