package main

import (
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/go-logr/logr"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"

	"switchboard/internal/netctl"
)

func networkCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "network",
		Short: "Create a network in several clusters at once, list networks, and show each cluster's view of one or its topology",
		Long: `Networks in one or more clusters, each named by its kubeconfig context:
--contexts a,b for several, --context a for one, or neither for the
kubeconfig's current context. The kubeconfig is --kubeconfig, else
$KUBECONFIG, else ~/.kube/config, as for kubectl.`,
		// controller-runtime's client logs nothing this command needs, and
		// prints a stack trace if its logger is never set.
		PersistentPreRun: func(*cobra.Command, []string) { ctrllog.SetLogger(logr.Discard()) },
	}
	var cfg netctl.Config
	f := cmd.PersistentFlags()
	f.StringVar(&cfg.Kubeconfig, "kubeconfig", "", "kubeconfig file (default $KUBECONFIG or ~/.kube/config)")
	f.StringSliceVar(&cfg.Contexts, "contexts", nil, "kubeconfig contexts of the clusters, comma-separated (default: --context, else the current context)")
	f.StringVar(&cfg.Context, "context", "", "the kubeconfig context of the one cluster (as kubectl's --context)")
	var namespace string
	f.StringVarP(&namespace, "namespace", "n", "", "the network's namespace (default: each context's namespace)")
	open := func(c *cobra.Command) ([]netctl.Cluster, error) {
		cfg.Warnings = c.ErrOrStderr()
		return netctl.Open(cfg)
	}
	cmd.AddCommand(networkCreateCommand(open, &namespace), networkStatusCommand(open, &namespace),
		networkListCommand(open, &namespace), networkTopologyCommand(open, &namespace))
	return cmd
}

type openFunc func(*cobra.Command) ([]netctl.Cluster, error)

func networkCreateCommand(open openFunc, namespace *string) *cobra.Command {
	var fl netctl.Flags
	var opts netctl.CreateOptions
	cmd := &cobra.Command{
		Use:   "create NAME --contexts a,b",
		Short: "Create or update the same Network in every context (server-side apply), then wait for it to be Ready",
		Long: `Create or update the Network NAME in every kubeconfig context of --contexts,
so that an inter-cluster network has the same name, type and provider in each
cluster. Running it again with the same flags changes nothing ("unchanged").

--access-list USER=FILE adds a user with their public key (the USER.pub that
"switchboard keys new" writes) in every context; CONTEXT:USER=FILE in that
context only, since each cluster's access list may differ.`,
		Example: `  switchboard network create blue --contexts a,b -n team --type ext-vnet \
    --provider-name idco --provider-domain idco.example.org:8443 --cidr 10.50.0.0/24 \
    --access-list alice=alice.pub --access-list b:bob=bob.pub`,
		Args: cobra.ExactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			clusters, err := open(c)
			if err != nil {
				return err
			}
			contexts := make([]string, len(clusters))
			for i, cl := range clusters {
				contexts[i] = cl.Context
			}
			spec, err := fl.Spec(args[0], *namespace, contexts)
			if err != nil {
				return err
			}
			return netctl.Create(c.Context(), clusters, spec, opts, c.OutOrStdout())
		},
	}
	f := cmd.Flags()
	f.StringVar(&fl.Type, "type", "vnet", "network type: vnet (this cluster only) or ext-vnet (across clusters)")
	f.StringVar(&fl.ProviderName, "provider-name", "", "ext-vnet: the IDCO's name")
	f.StringVar(&fl.ProviderDomain, "provider-domain", "", "ext-vnet: the IDCO's HTTPS API, HOST:PORT")
	f.StringVar(&fl.CIDR, "cidr", "", "the network's CIDR, for IPAM (default none: pure L2)")
	f.StringVar(&fl.Gateway, "gateway", "", "with --cidr: the gateway address, never given to a pod")
	f.StringArrayVar(&fl.Ranges, "range", nil, "with --cidr: [CONTEXT:]START-END to allocate from, in every context or in that one only (repeatable; default the whole CIDR); clusters sharing an ext-vnet subnet each need their own range")
	f.Int32Var(&fl.MTU, "mtu", 0, "MTU of the pods' interfaces (default 0: from the node's)")
	f.StringArrayVar(&fl.AccessList, "access-list", nil, "ext-vnet: [CONTEXT:]USER=PUBKEY.pub (repeatable)")
	f.DurationVar(&opts.Wait, "wait", 30*time.Second, "how long to wait for each Network to be Ready (0: do not wait)")
	f.BoolVar(&opts.DryRun, "dry-run", false, "print the YAML that would be applied in each context, change nothing")
	return cmd
}

func networkStatusCommand(open openFunc, namespace *string) *cobra.Command {
	var output string
	cmd := &cobra.Command{
		Use:   "status NAME --contexts a,b",
		Short: "Show each cluster's view of a network: readiness, VNIs, authorized users, edge links, pods",
		Args:  cobra.ExactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			if output != "table" && output != "json" {
				return fmt.Errorf("-o %q is not an output format: use table or json", output)
			}
			clusters, err := open(c)
			if err != nil {
				return err
			}
			statuses := netctl.Status(c.Context(), clusters, *namespace, args[0])
			write := netctl.WriteTable
			if output == "json" {
				write = netctl.WriteJSON
			}
			if err := write(c.OutOrStdout(), args[0], statuses); err != nil {
				return err
			}
			return netctl.StatusError(args[0], statuses)
		},
	}
	cmd.Flags().StringVarP(&output, "output", "o", "table", "output: table or json")
	return cmd
}
