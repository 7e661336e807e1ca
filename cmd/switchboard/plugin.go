package main

import (
	"fmt"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"
)

// pluginBinary is the name kubectl looks for on PATH to run
// `kubectl switchboard ...`: `make build` links it to this binary.
const pluginBinary = "kubectl-switchboard"

// invocation says how the user ran this binary, so that help and errors
// show the command they typed.
type invocation struct {
	// plugin is set when run as kubectl-switchboard (by kubectl, or directly).
	plugin bool
}

// invokedAs tells from argv[0] whether this binary runs as the kubectl
// plugin: its base name (without ".exe") is kubectl-switchboard. kubectl
// execs a plugin with its full path as argv[0].
func invokedAs(argv0 string) invocation {
	base := strings.TrimSuffix(filepath.Base(argv0), ".exe")
	return invocation{plugin: base == pluginBinary}
}

// name is the command as the user types it.
func (inv invocation) name() string {
	if inv.plugin {
		return "kubectl switchboard"
	}
	return "switchboard"
}

// rename makes root and its commands' examples say "kubectl switchboard"
// when run as the plugin.
func (inv invocation) rename(root *cobra.Command) {
	if !inv.plugin {
		return
	}
	root.Use = pluginBinary
	root.Annotations = map[string]string{cobra.CommandDisplayNameAnnotation: inv.name()}
	var walk func(*cobra.Command)
	walk = func(c *cobra.Command) {
		c.Example = strings.ReplaceAll(c.Example, "  switchboard ", "  "+inv.name()+" ")
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(root)
}

// markLabOnly tells a plugin user that the lab commands act on the local
// lab, never on the clusters of their kubeconfig: their help says so, and
// each run prints a note on standard error.
func (inv invocation) markLabOnly(lab *cobra.Command) {
	if !inv.plugin {
		return
	}
	lab.Short = "Local lab only, not your kubeconfig's clusters: " + strings.ToLower(lab.Short[:1]) + lab.Short[1:]
	lab.Long = lab.Short + `

The lab commands run real Kubernetes clusters on this machine and act only
on them: --kubeconfig, --context and KUBECONFIG do not apply. To reach a lab
cluster from kubectl, use the kubeconfig that "kubectl switchboard lab
kubeconfig" prints.`
	lab.PersistentPreRun = func(c *cobra.Command, _ []string) {
		fmt.Fprintf(c.ErrOrStderr(), "note: %q acts on the local lab, not on the clusters of your kubeconfig\n", c.CommandPath())
	}
}
