// Command switchboard-idco runs Switchboard's inter-domain connectivity
// orchestrator (see package switchboard/internal/idco): "serve" runs the
// HTTPS API, "init" and "enrol" make its certificates, and "admin" manages
// users, keys, permissions and reads the audit log through the API.
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
	root := &cobra.Command{Use: "switchboard-idco", Short: "Switchboard's inter-domain connectivity orchestrator", SilenceUsage: true}
	root.AddCommand(serveCmd(), initCmd(), enrolCmd(), adminCmd())
	if err := root.ExecuteContext(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "switchboard-idco:", err)
		os.Exit(1)
	}
}
