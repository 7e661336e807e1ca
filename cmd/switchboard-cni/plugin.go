package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"runtime/debug"
	"time"

	"github.com/containernetworking/cni/pkg/skel"
	"github.com/containernetworking/cni/pkg/types"

	"switchboard/internal/cnirpc"
)

// errPluginNotAvailable is the CNI 1.1 error code STATUS returns when the
// plugin cannot serve ADD requests ("plugin not available").
const errPluginNotAvailable uint = 50

// timeout bounds one call to the agent. ADD allocates an address and programs
// the node; GC may visit every attachment on the node.
func timeout(command string) time.Duration {
	switch command {
	case cnirpc.CommandAdd, cnirpc.CommandDel:
		return 60 * time.Second
	case cnirpc.CommandGC:
		return 120 * time.Second
	case cnirpc.CommandStatus:
		return 10 * time.Second
	default:
		return 30 * time.Second
	}
}

// plugin implements the CNI commands. It holds no state of its own.
type plugin struct {
	stdout io.Writer // where ADD prints its result
}

func (p plugin) funcs() skel.CNIFuncs {
	return skel.CNIFuncs{Add: p.add, Del: del, Check: check, GC: gc, Status: status}
}

// add prints the agent's CNI result as is: the agent writes it in the
// configuration's cniVersion.
func (p plugin) add(args *skel.CmdArgs) error {
	resp, err := forward(cnirpc.CommandAdd, args)
	if err != nil {
		return err
	}
	if len(resp.Result) == 0 {
		return types.NewError(types.ErrInternal, "switchboard agent returned no result for ADD", "")
	}
	if _, err := p.stdout.Write(resp.Result); err != nil {
		return types.NewError(types.ErrIOFailure, "write ADD result", err.Error())
	}
	return nil
}

// del is idempotent because the agent is: it answers success when the
// attachment is already gone. An agent it cannot reach is an error, not
// success: the agent holds the address allocation and the node's state, and
// if DEL reported success the runtime would forget the container and the
// address would leak. With an error the runtime retries DEL, and the agent's
// GC catches whatever a retry never reaches.
func del(args *skel.CmdArgs) error {
	_, err := forward(cnirpc.CommandDel, args)
	return err
}

func check(args *skel.CmdArgs) error {
	_, err := forward(cnirpc.CommandCheck, args)
	return err
}

// gc forwards the configuration, which lists the attachments the runtime
// still knows ("cni.dev/valid-attachments"); the agent removes the others.
func gc(args *skel.CmdArgs) error {
	_, err := forward(cnirpc.CommandGC, args)
	return err
}

// status reports whether the agent answers its health check.
func status(args *skel.CmdArgs) error {
	socket, err := socketOf(args.StdinData)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout(cnirpc.CommandStatus))
	defer cancel()
	if err := cnirpc.Health(ctx, socket); err != nil {
		return types.NewError(errPluginNotAvailable, fmt.Sprintf("switchboard agent at %s is not available", socket), err.Error())
	}
	return nil
}

// forward sends one CNI call to the agent named in the configuration. The
// agent's CNI error, or the failure to get an answer, is returned as a
// *types.Error for skel to print.
func forward(command string, args *skel.CmdArgs) (*cnirpc.Response, error) {
	socket, err := socketOf(args.StdinData)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout(command))
	defer cancel()
	resp, err := cnirpc.Call(ctx, socket, request(command, args))
	switch {
	case errors.Is(err, cnirpc.ErrAgentUnreachable), errors.Is(err, context.DeadlineExceeded):
		return nil, types.NewError(types.ErrTryAgainLater, err.Error(), "")
	case err != nil:
		return nil, types.NewError(types.ErrInternal, err.Error(), "")
	case resp.Error != nil:
		return nil, resp.Error
	}
	return resp, nil
}

func request(command string, args *skel.CmdArgs) cnirpc.Request {
	return cnirpc.Request{
		Command:     command,
		ContainerID: args.ContainerID,
		NetNS:       args.Netns,
		IfName:      args.IfName,
		Args:        args.Args,
		Path:        args.Path,
		Config:      args.StdinData,
	}
}

// runtimeDir is the only directory whose sockets the plugin talks to:
// cnirpc.RuntimeDir. It is a variable only so that the tests can build the
// plugin with another directory (-ldflags "-X main.runtimeDir=DIR"); nothing
// the plugin reads at run time can change it.
var runtimeDir = cnirpc.RuntimeDir

// socketOf returns the agent's socket: the configuration's "socket" field,
// which must name a socket directly in runtimeDir, or runtimeDir/cni.sock.
// Only this field is read here; the agent checks the rest, so that a
// configuration the agent rejects can still be deleted.
func socketOf(config []byte) (string, error) {
	var c struct {
		Socket string `json:"socket"`
	}
	if err := json.Unmarshal(config, &c); err != nil {
		return "", types.NewError(types.ErrInvalidNetworkConfig, "invalid \"socket\": want a string path", err.Error())
	}
	if c.Socket == "" {
		return filepath.Join(runtimeDir, "cni.sock"), nil
	}
	if err := cnirpc.CheckSocket(runtimeDir, c.Socket); err != nil {
		return "", types.NewError(types.ErrInvalidNetworkConfig, err.Error(), "")
	}
	return c.Socket, nil
}

// about describes the binary when it is run without CNI_COMMAND.
func about() string {
	v := "(devel)"
	if info, ok := debug.ReadBuildInfo(); ok && info.Main.Version != "" {
		v = info.Main.Version
	}
	return "switchboard CNI plugin " + v
}
