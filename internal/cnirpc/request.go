// Package cnirpc is the wire protocol between the switchboard CNI plugin and
// the switchboard node agent: JSON over HTTP on a unix socket.
//
// The plugin is a thin shim: it turns the CNI environment and stdin into a
// [Request], sends it with [Call] and prints what comes back. The agent owns
// all state and answers through a [Handler] served by [Serve].
//
// Endpoints (HTTP/1.1 on the unix socket; the host part of the URL is ignored):
//
//	POST /v1/cni   body: Request as JSON; answer: Response as JSON
//	               200: the handler ran (Response.Error may still be set)
//	               400: the request was rejected before reaching the handler
//	GET  /healthz  200 "ok" when the agent is ready to serve CNI requests
//
// The package depends only on the standard library and
// github.com/containernetworking/cni, so that the plugin binary stays small.
package cnirpc

import (
	"encoding/json"
	"fmt"
	"path/filepath"

	"github.com/containernetworking/cni/pkg/types"
)

// RuntimeDir is the agent's runtime directory (root only, 0700). The plugin
// runs as root on whatever configuration a NetworkAttachmentDefinition
// holds, so it talks only to sockets directly in this directory: see
// CheckSocket.
const RuntimeDir = "/run/switchboard"

// DefaultSocket is where the agent listens unless a network configuration
// names another socket in RuntimeDir.
const DefaultSocket = RuntimeDir + "/cni.sock"

// CheckSocket reports, as a *FieldError on "socket", whether path is not a
// file directly in dir, spelled plainly (absolute, no "..", "." or double
// slashes). It keeps a configuration's "socket" from pointing the root-run
// plugin at another program's socket, whose answer it would print as the
// CNI result.
func CheckSocket(dir, path string) error {
	switch {
	case !filepath.IsAbs(path):
		return &FieldError{Field: "socket", Reason: fmt.Sprintf("%q is not an absolute path: remove \"socket\" to use %s, or name a socket in %s", path, filepath.Join(dir, "cni.sock"), dir)}
	case filepath.Clean(path) != path || filepath.Dir(path) != dir:
		return &FieldError{Field: "socket", Reason: fmt.Sprintf("%q is not a socket in the agent's directory %s: remove \"socket\" to use %s, or name a socket in %s", path, dir, filepath.Join(dir, "cni.sock"), dir)}
	}
	return nil
}

// CNI commands carried in Request.Command.
const (
	CommandAdd    = "ADD"
	CommandDel    = "DEL"
	CommandCheck  = "CHECK"
	CommandStatus = "STATUS"
	CommandGC     = "GC"
)

// Request is one CNI invocation, forwarded from the plugin to the agent.
type Request struct {
	Command     string `json:"command"`               // CNI_COMMAND: ADD, DEL, CHECK, STATUS or GC
	ContainerID string `json:"containerID,omitempty"` // CNI_CONTAINERID
	NetNS       string `json:"netns,omitempty"`       // CNI_NETNS
	IfName      string `json:"ifName,omitempty"`      // CNI_IFNAME
	Args        string `json:"args,omitempty"`        // CNI_ARGS, see PodArgs
	Path        string `json:"path,omitempty"`        // CNI_PATH
	Config      []byte `json:"config"`                // the network configuration from stdin, byte for byte (base64 on the wire)
}

// Response is the agent's answer to a Request. At most one of Result and
// Error is set.
type Response struct {
	// Result is the CNI result of an ADD, in the cniVersion of the request's
	// configuration, printed by the plugin as is.
	Result json.RawMessage `json:"result,omitempty"`
	// Error is the CNI error to report to the runtime.
	Error *types.Error `json:"error,omitempty"`
}

// FieldError reports bad input and names the field at fault, so that the
// message can go into an event or condition that tells the user what to fix.
type FieldError struct {
	Field  string // e.g. "command", "runtimeConfig.ips[1]", "CNI_ARGS K8S_POD_NAME"
	Reason string
}

func (e *FieldError) Error() string {
	return fmt.Sprintf("invalid %s: %s", e.Field, e.Reason)
}

// required lists, per command, the fields that must not be empty. The
// configuration is required by every command.
var required = map[string][]string{
	CommandAdd:    {"containerID", "netns", "ifName"},
	CommandCheck:  {"containerID", "netns", "ifName"},
	CommandDel:    {"containerID", "ifName"},
	CommandStatus: nil,
	CommandGC:     nil,
}

// Validate checks that the command is known, that the fields the command
// needs are present and that the configuration is JSON. It returns a
// *FieldError naming the first field at fault.
func (r *Request) Validate() error {
	fields, ok := required[r.Command]
	if !ok {
		return &FieldError{Field: "command", Reason: fmt.Sprintf("%q is not one of ADD, DEL, CHECK, STATUS, GC", r.Command)}
	}
	values := map[string]string{"containerID": r.ContainerID, "netns": r.NetNS, "ifName": r.IfName}
	for _, f := range fields {
		if values[f] == "" {
			return &FieldError{Field: f, Reason: "required for " + r.Command}
		}
	}
	if len(r.Config) == 0 {
		return &FieldError{Field: "config", Reason: "required for " + r.Command}
	}
	if !json.Valid(r.Config) {
		return &FieldError{Field: "config", Reason: "not valid JSON"}
	}
	return nil
}
