package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/containernetworking/cni/pkg/types"

	"switchboard/internal/cnirpc"
	"switchboard/internal/cnirpc/cnirpctest"
)

const (
	podArgs    = "K8S_POD_NAMESPACE=team-a;K8S_POD_NAME=web-0;K8S_POD_UID=1234"
	podNetNS   = "/var/run/netns/switchboard-test-absent" // skel only checks it is not the plugin's own
	addResult  = `{"cniVersion":"1.1.0","interfaces":[{"name":"net1","mac":"02:00:00:00:00:05","sandbox":"/var/run/netns/x"}],"ips":[{"address":"10.0.0.5/24","interface":0}]}`
	seedResult = `{"cniVersion":"0.3.0","interfaces":[{"name":"net1"}],"ips":[{"version":"4","address":"10.0.0.6/24","interface":0}]}`
)

func switchboardConfig(socket string) string {
	return fmt.Sprintf(`{"cniVersion":"1.1.0","name":"red","type":"switchboard","network":"red","socket":%q}`, socket)
}

func seedConfig(socket string) string {
	return fmt.Sprintf(`{"cniVersion":"0.3.0","name":"sample","type":"l2sm","device":"l2sm-vNet","kind":{"vnet":{}},"socket":%q}`, socket)
}

func TestExecForwardsEachCommand(t *testing.T) {
	agent := startAgent(t, func(req cnirpc.Request) *cnirpc.Response {
		if req.Command != cnirpc.CommandAdd {
			return nil // DEL of an attachment that is already gone is success too
		}
		if strings.Contains(string(req.Config), `"l2sm"`) {
			return &cnirpc.Response{Result: json.RawMessage(seedResult)}
		}
		return &cnirpc.Response{Result: json.RawMessage(addResult)}
	})
	gcConfig := `{"cniVersion":"1.1.0","name":"red","type":"switchboard","socket":"` + agent.Socket +
		`","cni.dev/valid-attachments":[{"containerID":"c2","ifname":"net1"}]}`
	tests := []struct {
		name       string
		inv        invocation
		wantStdout string
	}{
		{"ADD", invocation{"ADD", "c1", podNetNS, "net1", podArgs, switchboardConfig(agent.Socket)}, addResult},
		{"ADD seed format", invocation{"ADD", "c1", podNetNS, "net2", podArgs, seedConfig(agent.Socket)}, seedResult},
		{"CHECK", invocation{"CHECK", "c1", podNetNS, "net1", podArgs, switchboardConfig(agent.Socket)}, ""},
		{"DEL", invocation{"DEL", "c1", podNetNS, "net1", podArgs, switchboardConfig(agent.Socket)}, ""},
		{"DEL without netns", invocation{"DEL", "c1", "", "net1", podArgs, switchboardConfig(agent.Socket)}, ""},
		{"GC", invocation{"GC", "", "", "", "", gcConfig}, ""},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := run(t, tt.inv)
			if r.exitCode != 0 || r.stdout != tt.wantStdout {
				t.Fatalf("exit %d, stdout %q, stderr %q; want exit 0, stdout %q", r.exitCode, r.stdout, r.stderr, tt.wantStdout)
			}
			reqs := agent.Requests()
			if len(reqs) != i+1 {
				t.Fatalf("agent received %d requests, want %d", len(reqs), i+1)
			}
			want := cnirpc.Request{
				Command: tt.inv.command, ContainerID: tt.inv.containerID, NetNS: tt.inv.netns, IfName: tt.inv.ifName,
				Args: tt.inv.args, Path: "/opt/cni/bin", Config: []byte(tt.inv.config),
			}
			if got := reqs[i]; !reflect.DeepEqual(got, want) {
				t.Errorf("agent received %+v\nwant %+v", got, want)
			}
		})
	}
}

func TestExecPassesAgentErrorThrough(t *testing.T) {
	agentErr := &types.Error{Code: 7, Msg: `network "red" not found in namespace "team-a"`, Details: "create the Network or fix the pod's annotation"}
	agent := startAgent(t, func(cnirpc.Request) *cnirpc.Response { return &cnirpc.Response{Error: agentErr} })
	for _, command := range []string{"ADD", "CHECK", "DEL"} {
		r := run(t, invocation{command, "c1", podNetNS, "net1", podArgs, switchboardConfig(agent.Socket)})
		code, msg, details := r.cniError(t)
		if code != agentErr.Code || msg != agentErr.Msg || details != agentErr.Details {
			t.Errorf("%s printed {%d %q %q}, want the agent's %+v", command, code, msg, details, agentErr)
		}
	}
}

func TestExecAgentUnreachable(t *testing.T) {
	socket := agentSocket(t)
	want := "switchboard agent not reachable at " + socket + ": is the switchboard-agent pod running on this node?"
	for _, inv := range []invocation{
		{"ADD", "c1", podNetNS, "net1", podArgs, switchboardConfig(socket)},
		{"DEL", "c1", podNetNS, "net1", podArgs, switchboardConfig(socket)}, // an error, so that the runtime retries
		{"CHECK", "c1", podNetNS, "net1", podArgs, switchboardConfig(socket)},
		{"GC", "", "", "", "", switchboardConfig(socket)},
	} {
		code, msg, _ := run(t, inv).cniError(t)
		if code != types.ErrTryAgainLater || !strings.Contains(msg, want) {
			t.Errorf("%s printed {%d %q}, want code %d and a message containing %q", inv.command, code, msg, types.ErrTryAgainLater, want)
		}
	}
}

func TestExecAddWithoutResult(t *testing.T) {
	agent := startAgent(t, nil)
	code, msg, _ := run(t, invocation{"ADD", "c1", podNetNS, "net1", podArgs, switchboardConfig(agent.Socket)}).cniError(t)
	if code != types.ErrInternal || !strings.Contains(msg, "no result") {
		t.Errorf("ADD printed {%d %q}, want code %d about the missing result", code, msg, types.ErrInternal)
	}
}

func TestExecStatus(t *testing.T) {
	agent := startAgent(t, nil)
	statusOf := func(socket string) result {
		return run(t, invocation{command: "STATUS", config: switchboardConfig(socket)})
	}
	if r := statusOf(agent.Socket); r.exitCode != 0 || r.stdout != "" {
		t.Errorf("STATUS of a healthy agent: exit %d, stdout %q", r.exitCode, r.stdout)
	}

	agent.SetHealth(errors.New("informers not synced"))
	code, msg, details := statusOf(agent.Socket).cniError(t)
	if code != errPluginNotAvailable || !strings.Contains(msg, agent.Socket) || !strings.Contains(details, "informers not synced") {
		t.Errorf("STATUS of an unhealthy agent printed {%d %q %q}, want code 50 naming the socket and the reason", code, msg, details)
	}

	gone := agentSocket(t)
	code, msg, _ = statusOf(gone).cniError(t)
	if code != errPluginNotAvailable || !strings.Contains(msg, gone) {
		t.Errorf("STATUS without an agent printed {%d %q}, want code 50 naming %s", code, msg, gone)
	}
	if n := len(agent.Requests()); n != 0 {
		t.Errorf("STATUS sent %d CNI requests, want only health checks", n)
	}
}

func TestExecVersion(t *testing.T) {
	r := run(t, invocation{command: "VERSION"})
	var v struct {
		CNIVersion        string   `json:"cniVersion"`
		SupportedVersions []string `json:"supportedVersions"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &v); err != nil || r.exitCode != 0 {
		t.Fatalf("VERSION: exit %d, stdout %q: %v", r.exitCode, r.stdout, err)
	}
	if !strings.Contains(strings.Join(v.SupportedVersions, ","), "1.1.0") {
		t.Errorf("supportedVersions = %v, want 1.1.0 among them", v.SupportedVersions)
	}

	r = run(t, invocation{}) // no CNI_COMMAND: skel prints what the binary is
	if r.exitCode != 0 || !strings.Contains(r.stderr, "switchboard CNI plugin") {
		t.Errorf("no command: exit %d, stderr %q", r.exitCode, r.stderr)
	}
}

func TestExecRefusesSocketOutsideRuntimeDir(t *testing.T) {
	const rogueResult = `{"cniVersion":"1.1.0","ips":[{"address":"203.0.113.66/24"}]}`
	rogue := cnirpctest.Start(t, func(cnirpc.Request) *cnirpc.Response {
		return &cnirpc.Response{Result: json.RawMessage(rogueResult)}
	})
	for _, socket := range []string{rogue.Socket, runtimeDir + "/.." + rogue.Socket} {
		for _, command := range []string{"ADD", "DEL", "CHECK", "GC", "STATUS"} {
			r := run(t, invocation{command, "c1", podNetNS, "net1", podArgs, switchboardConfig(socket)})
			if strings.Contains(r.stdout, "203.0.113.66") {
				t.Fatalf("%s with socket %s printed the other socket's answer: %s", command, socket, r.stdout)
			}
			code, msg, _ := r.cniError(t)
			if code != types.ErrInvalidNetworkConfig || !strings.Contains(msg, `"socket"`) || !strings.Contains(msg, runtimeDir) {
				t.Errorf("%s with socket %s printed {%d %q}, want code %d naming the \"socket\" field and %s",
					command, socket, code, msg, types.ErrInvalidNetworkConfig, runtimeDir)
			}
		}
	}
	if n := len(rogue.Requests()); n != 0 {
		t.Errorf("the socket outside the runtime directory received %d requests, want none", n)
	}
}

func TestSocketOf(t *testing.T) {
	inDir := filepath.Join(runtimeDir, "other.sock")
	tests := []struct {
		config   string
		want     string
		wantCode uint
	}{
		{`{"name":"red"}`, filepath.Join(runtimeDir, "cni.sock"), 0},
		{`{"name":"red","socket":"` + inDir + `"}`, inDir, 0},
		{`{"name":"red","socket":"/var/run/sb/cni.sock"}`, "", types.ErrInvalidNetworkConfig},
		{`{"name":"red","socket":"/tmp/cni.sock"}`, "", types.ErrInvalidNetworkConfig},
		{`{"name":"red","socket":"` + runtimeDir + `/../cni.sock"}`, "", types.ErrInvalidNetworkConfig},
		{`{"name":"red","socket":"` + runtimeDir + `/sub/cni.sock"}`, "", types.ErrInvalidNetworkConfig},
		{`{"name":"red","socket":"` + runtimeDir + `//cni.sock"}`, "", types.ErrInvalidNetworkConfig},
		{`{"name":"red","socket":"` + runtimeDir + `"}`, "", types.ErrInvalidNetworkConfig},
		{`{"name":"red","socket":"cni.sock"}`, "", types.ErrInvalidNetworkConfig},
		{`{"name":"red","socket":5}`, "", types.ErrInvalidNetworkConfig},
	}
	for _, tt := range tests {
		got, err := socketOf([]byte(tt.config))
		var code uint
		if te, ok := errors.AsType[*types.Error](err); ok {
			code = te.Code
		} else if err != nil {
			t.Fatalf("socketOf(%s) = %v, want a *types.Error", tt.config, err)
		}
		if got != tt.want || code != tt.wantCode {
			t.Errorf("socketOf(%s) = %q, %v; want %q, code %d", tt.config, got, err, tt.want, tt.wantCode)
		}
	}
}
