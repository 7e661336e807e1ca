package main

import (
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"switchboard/internal/netctl"
	"switchboard/internal/topology"
)

func networkListCommand(open openFunc, namespace *string) *cobra.Command {
	var all bool
	cmd := &cobra.Command{
		Use:   "list [--contexts a,b] [-n NAMESPACE | -A]",
		Short: "List the Networks of each cluster: type, readiness, VNIs, attachments",
		Args:  cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			if all && *namespace != "" {
				return fmt.Errorf("-A (every namespace) and -n %s are both given: drop one", *namespace)
			}
			clusters, err := open(c)
			if err != nil {
				return err
			}
			lists := netctl.List(c.Context(), clusters, *namespace, all)
			if err := netctl.WriteList(c.OutOrStdout(), lists); err != nil {
				return err
			}
			return netctl.ListError(lists)
		},
	}
	cmd.Flags().BoolVarP(&all, "all-namespaces", "A", false, "list the Networks of every namespace")
	return cmd
}

// topologyWriters are the output formats of "network topology".
var topologyWriters = map[string]func(io.Writer, topology.Topology) error{
	"text": topology.WriteText,
	"dot":  topology.WriteDot,
	"svg":  topology.WriteSVG,
}

func networkTopologyCommand(open openFunc, namespace *string) *cobra.Command {
	output := "text"
	cmd := &cobra.Command{
		Use:   "topology NAME [--contexts a,b] [-n NAMESPACE] [-o text|dot|svg]",
		Short: "Draw a network across its clusters: nodes, pods and addresses, gateways, tunnels and their state",
		Long: `Read the network NAME in every context and draw it: each cluster with its
nodes, the pods on each node with their interface, addresses and user (and
the pods the operator refused), the gateways (the edge device's cables into
the network) and the tunnels between the gateways of different clusters.

A tunnel is "up" when both networks are Ready, both edges carry the network
with the same inter-cluster VNI and both edge pods are Ready; otherwise
"down", with the reason. -o text is an indented tree, -o dot is Graphviz
source (dot -Tpng renders it), -o svg is a picture drawn without Graphviz.`,
		Example: `  switchboard network topology sample-inter-network --contexts a,b -n demo-inter
  switchboard network topology sample-inter-network --contexts a,b -n demo-inter -o svg > topology.svg`,
		Args: cobra.ExactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			write, ok := topologyWriters[output]
			if !ok {
				return fmt.Errorf("-o %q is not an output format: use text, dot or svg", output)
			}
			clusters, err := open(c)
			if err != nil {
				return err
			}
			inputs := make([]topology.Input, len(clusters))
			for i, cl := range clusters {
				inputs[i] = topology.Input{Context: cl.Context, Namespace: cl.Namespace, Err: cl.Err}
				if *namespace != "" {
					inputs[i].Namespace = *namespace
				}
				if cl.Err == nil {
					inputs[i].Source = topology.KubeSource{Client: cl.Client}
				}
			}
			t := topology.Build(c.Context(), args[0], inputs)
			if err := write(c.OutOrStdout(), t); err != nil {
				return err
			}
			var failed []string
			for _, cl := range t.Clusters {
				if cl.Error != "" {
					failed = append(failed, cl.Context)
				}
			}
			if len(failed) > 0 {
				return fmt.Errorf("network %s: could not be read in %d of %d contexts: %s", args[0], len(failed), len(t.Clusters), strings.Join(failed, ", "))
			}
			return nil
		},
	}
	cmd.Flags().StringVarP(&output, "output", "o", output, "output: text, dot or svg")
	return cmd
}
