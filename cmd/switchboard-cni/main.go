// Command switchboard-cni is the switchboard CNI plugin (CNI spec 1.1: ADD,
// DEL, CHECK, STATUS, GC, VERSION). It is a thin shim: each call is forwarded
// to the switchboard agent on the node over its unix socket (package cnirpc),
// and the agent does the work and owns all state. The binary must never
// depend on client-go; deps_test.go checks.
package main

import (
	"os"

	"github.com/containernetworking/cni/pkg/skel"
	"github.com/containernetworking/cni/pkg/version"
)

func main() {
	skel.PluginMainFuncs(plugin{stdout: os.Stdout}.funcs(), version.All, about())
}
