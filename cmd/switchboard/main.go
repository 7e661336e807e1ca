// Command switchboard is Switchboard's client: keys and signed join tokens
// for inter-cluster networks, networks created and shown in several clusters
// at once, and the local lab (real multi-node, multi-cluster Kubernetes on
// one machine).
//
// Installed (or linked) as kubectl-switchboard on PATH, it is also the
// kubectl plugin `kubectl switchboard`: the commands that talk to clusters
// take kubectl's --kubeconfig, --context and -n flags and KUBECONFIG.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := rootCommand(invokedAs(os.Args[0])).ExecuteContext(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "error:", err)
		os.Exit(exitCode(err))
	}
}

func rootCommand(inv invocation) *cobra.Command {
	root := &cobra.Command{
		Use:           "switchboard",
		Short:         "Switchboard: isolated virtual networks for pods, inside and across Kubernetes clusters",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	lab := labCommand()
	inv.markLabOnly(lab)
	root.AddCommand(lab, keysCommand(), tokenCommand(), networkCommand(), imagesCommand(), portalCommand())
	inv.rename(root)
	return root
}
