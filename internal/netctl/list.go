package netctl

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"

	"sigs.k8s.io/controller-runtime/pkg/client"

	"switchboard/api/v1alpha1"
)

// ClusterNetworks is one cluster's Networks, as "network list" shows them.
type ClusterNetworks struct {
	Context string `json:"context"`
	// Error says why the Networks could not be listed; then Networks is
	// empty.
	Error    string       `json:"error,omitempty"`
	Networks []ListedView `json:"networks"`
}

// ListedView is a Network in a list: its view and its attachment count.
type ListedView struct {
	NetworkView
	Attachments int32 `json:"attachments"`
}

// List reads the Networks of namespace (each context's own when empty; every
// namespace when all is set) in every cluster at once, sorted by namespace
// and name. A cluster that cannot be read has its Error set.
func List(ctx context.Context, clusters []Cluster, namespace string, all bool) []ClusterNetworks {
	out := make([]ClusterNetworks, len(clusters))
	forEach(clusters, func(i int, c Cluster) {
		out[i] = ClusterNetworks{Context: c.Context, Networks: []ListedView{}}
		if c.Err != nil {
			out[i].Error = c.Err.Error()
			return
		}
		var opts []client.ListOption
		if !all {
			opts = append(opts, client.InNamespace(c.namespaceOr(namespace)))
		}
		var nets v1alpha1.NetworkList
		if err := c.Client.List(ctx, &nets, opts...); err != nil {
			out[i].Error = fmt.Sprintf("list networks: %v", err)
			return
		}
		for j := range nets.Items {
			n := &nets.Items[j]
			out[i].Networks = append(out[i].Networks, ListedView{NetworkView: viewOf(n), Attachments: n.Status.Attachments})
		}
		slices.SortFunc(out[i].Networks, func(a, b ListedView) int {
			return cmp.Or(cmp.Compare(a.Namespace, b.Namespace), cmp.Compare(a.Name, b.Name))
		})
	})
	return out
}

// WriteList writes the clusters' Networks as one table, a row per Network,
// and a line per cluster that could not be read.
func WriteList(out io.Writer, lists []ClusterNetworks) error {
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "CONTEXT\tNAMESPACE\tNAME\tTYPE\tREADY\tVNI\tINTER-CLUSTER VNI\tATTACHMENTS")
	for _, l := range lists {
		for _, n := range l.Networks {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%v\t%v\t%v\t%d\n", l.Context, n.Namespace, n.Name, n.Type,
				dash(n.Ready), dash(n.VNI), dash(n.InterClusterVNI), n.Attachments)
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, l := range lists {
		if l.Error != "" {
			fmt.Fprintf(out, "error: context %s: %s\n", l.Context, l.Error)
		}
	}
	return nil
}

// ListError returns an error naming the contexts that could not be read,
// or nil when every one was.
func ListError(lists []ClusterNetworks) error {
	var failed []string
	for _, l := range lists {
		if l.Error != "" {
			failed = append(failed, l.Context)
		}
	}
	if len(failed) == 0 {
		return nil
	}
	return fmt.Errorf("networks could not be listed in %d of %d contexts: %s", len(failed), len(lists), strings.Join(failed, ", "))
}
