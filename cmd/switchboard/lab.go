package main

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"syscall"

	"github.com/spf13/cobra"

	"switchboard/internal/demo"
	"switchboard/internal/lab"
)

// exitCode passes a failed child's exit status through (lab kubectl, lab exec).
func exitCode(err error) int {
	var ee *exec.ExitError
	if errors.As(err, &ee) && ee.ExitCode() > 0 {
		return ee.ExitCode()
	}
	return 1
}

func labCommand() *cobra.Command {
	cfg := lab.Config{Out: os.Stdout}
	cmd := &cobra.Command{
		Use:   "lab",
		Short: "Run real Kubernetes clusters on this machine (network and mount namespaces, no container engine)",
	}
	cmd.PersistentFlags().StringVar(&cfg.Name, "name", envOr("SWITCHBOARD_LAB", lab.DefaultName), "lab name (prefix of its namespaces and cgroups); env SWITCHBOARD_LAB")
	cmd.PersistentFlags().StringVar(&cfg.Dir, "dir", "", "lab directory (default /var/lib/switchboard/labs/NAME)")

	up := &cobra.Command{
		Use:   "up",
		Short: "Bring up the lab: build what is missing, start every cluster, wait for all nodes Ready",
		Args:  cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			if err := defaultImageBin(&cfg); err != nil {
				return err
			}
			return lab.Up(c.Context(), cfg)
		},
	}
	up.Flags().IntVar(&cfg.Clusters, "clusters", 2, "number of clusters (a, b, ...)")
	up.Flags().IntVar(&cfg.Nodes, "nodes", 2, "nodes per cluster")
	up.Flags().BoolVar(&cfg.FRR, "frr", false, "add per cluster an FRR router on the node network and a client namespace behind it, and run the agents' BGP speakers (docs/bgp.md)")
	up.Flags().StringVar(&cfg.Primary, "primary", lab.PrimaryBridge, "the pods' primary network: bridge (the reference plugins) or switchboard (Switchboard itself, started by lab install)")
	up.Flags().StringVar(&cfg.CacheDir, "cache", "", "where built binaries are cached (default $SWITCHBOARD_CACHE or ~/.cache/switchboard)")
	up.Flags().StringVar(&cfg.ImageBin, "image-bin", "", "directory with the pause and netcheck binaries for the lab images (default: this binary's directory)")

	prepare := &cobra.Command{
		Use:   "prepare",
		Short: "Install the lab's Debian packages and build its pinned binaries (cached), starting nothing",
		Args:  cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			return lab.Prepare(c.Context(), cfg)
		},
	}
	prepare.Flags().StringVar(&cfg.CacheDir, "cache", "", "where built binaries are cached (default $SWITCHBOARD_CACHE or ~/.cache/switchboard)")

	var keepLogs bool
	down := &cobra.Command{
		Use:   "down",
		Short: "Remove everything the lab made: processes, namespaces, mounts, cgroups, files; restore host sysctls",
		Args:  cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			return lab.Down(c.Context(), cfg, lab.DownOptions{KeepLogs: keepLogs})
		},
	}
	down.Flags().BoolVar(&keepLogs, "keep-logs", false, "keep the daemons' logs in the lab directory")

	status := &cobra.Command{
		Use:   "status",
		Short: "Show the lab's clusters, nodes and where its files are",
		Args:  cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			return lab.Status(c.Context(), cfg, os.Stdout)
		},
	}

	kubectl := &cobra.Command{
		Use:   "kubectl CLUSTER -- ARGS...",
		Short: "Run kubectl against a lab cluster (e.g. `switchboard lab kubectl a -- get nodes`)",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			h, err := lab.Open(cfg)
			if err != nil {
				return err
			}
			k, err := h.KubectlCmd(c.Context(), args[0], args[1:]...)
			if err != nil {
				return err
			}
			return runAttached(k)
		},
	}
	exe := &cobra.Command{
		Use:   "exec CLUSTER/NODE -- CMD ARGS...",
		Short: "Run a command on a lab node, in its network and mount namespaces",
		Args:  cobra.MinimumNArgs(2),
		RunE: func(c *cobra.Command, args []string) error {
			h, err := lab.Open(cfg)
			if err != nil {
				return err
			}
			e, err := h.ExecCmd(c.Context(), args[0], args[1:]...)
			if err != nil {
				return err
			}
			return runAttached(e)
		},
	}
	install := &cobra.Command{
		Use:   "install",
		Short: "Build Switchboard's images from bin/, import them into every node and apply config/ to every cluster",
		Args:  cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			if err := defaultImageBin(&cfg); err != nil {
				return err
			}
			return lab.Install(c.Context(), cfg)
		},
	}
	install.Flags().StringVar(&cfg.ImageBin, "image-bin", "", "directory with the project's binaries (default: this binary's directory)")

	idco := &cobra.Command{
		Use:   "idco",
		Short: "Reach the lab's IDCO (a lab of two or more clusters runs one on its WAN)",
	}
	idco.AddCommand(&cobra.Command{
		Use:   "admin -- ARGS...",
		Short: "Run `switchboard-idco admin ARGS` with the lab's admin certificate (e.g. `lab idco admin -- user-add alice`)",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			h, err := lab.Open(cfg)
			if err != nil {
				return err
			}
			return runAttached(h.IDCOAdminCmd(c.Context(), args...))
		},
	}, &cobra.Command{
		Use:   "restart",
		Short: "Stop the lab's IDCO and start it again on the same database",
		Args:  cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			return lab.RestartIDCO(c.Context(), cfg)
		},
	})

	apiProxy := &cobra.Command{
		Use:    "api-proxy",
		Short:  "Serve the lab's API servers on loopback ports for host tools (started by install)",
		Hidden: true,
		Args:   cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			ctx, stop := signal.NotifyContext(c.Context(), syscall.SIGTERM, os.Interrupt)
			defer stop()
			return lab.ServeAPIProxy(ctx, cfg)
		},
	}
	kubeconfig := &cobra.Command{
		Use:   "kubeconfig",
		Short: "Print the path of a kubeconfig with one context per lab cluster, reachable from the host (e.g. for `switchboard network create --contexts a,b`)",
		Args:  cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			h, err := lab.Open(cfg)
			if err != nil {
				return err
			}
			if _, err := os.Stat(h.HostKubeconfig()); err != nil {
				return fmt.Errorf("%w: run `switchboard lab install`, which starts the lab's API proxy", err)
			}
			fmt.Println(h.HostKubeconfig())
			return nil
		},
	}

	demoCmd := &cobra.Command{
		Use:   "demo",
		Short: "Play the demo scenario on the running lab, step by step",
		Args:  cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			h, err := lab.Open(cfg)
			if err != nil {
				return err
			}
			return demo.Run(c.Context(), h, os.Stdout)
		},
	}
	cmd.AddCommand(prepare, up, install, down, status, kubectl, exe, idco, kubeconfig, apiProxy, demoCmd)
	return cmd
}

func runAttached(c *exec.Cmd) error {
	c.Stdin, c.Stdout, c.Stderr = os.Stdin, os.Stdout, os.Stderr
	return c.Run()
}

func envOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}

// defaultImageBin points at the directory of this binary: `make build`
// puts every binary of the project there.
func defaultImageBin(cfg *lab.Config) error {
	if cfg.ImageBin != "" {
		return nil
	}
	self, err := os.Executable()
	if err != nil {
		return err
	}
	cfg.ImageBin = filepath.Dir(self)
	return nil
}
