// Command switchboard is Switchboard's client: keys and signed join tokens
// for inter-cluster networks, networks created and shown in several clusters
// at once, and the local lab (real multi-node, multi-cluster Kubernetes on
// one machine).
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
	if err := rootCommand().ExecuteContext(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "error:", err)
		os.Exit(exitCode(err))
	}
}

func rootCommand() *cobra.Command {
	root := &cobra.Command{
		Use:           "switchboard",
		Short:         "Switchboard: isolated virtual networks for pods, inside and across Kubernetes clusters",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.AddCommand(labCommand(), keysCommand(), tokenCommand(), networkCommand())
	return root
}
