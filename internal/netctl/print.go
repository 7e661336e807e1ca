package netctl

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"
)

// StatusReport is what "network status -o json" prints.
type StatusReport struct {
	Network  string          `json:"network"`
	Clusters []ClusterStatus `json:"clusters"`
}

// WriteJSON writes the clusters' status as one indented StatusReport.
func WriteJSON(out io.Writer, network string, clusters []ClusterStatus) error {
	b, err := json.MarshalIndent(StatusReport{Network: network, Clusters: clusters}, "", "  ")
	if err != nil {
		return fmt.Errorf("encode status: %w", err)
	}
	_, err = fmt.Fprintf(out, "%s\n", b)
	return err
}

// WriteTable writes the clusters' status for a reader: a section per
// cluster, with aligned columns.
func WriteTable(out io.Writer, network string, clusters []ClusterStatus) error {
	for i, s := range clusters {
		if i > 0 {
			fmt.Fprintln(out)
		}
		fmt.Fprintf(out, "=== context %s: network %s/%s ===\n", s.Context, s.Namespace, network)
		if s.Error != "" {
			fmt.Fprintf(out, "error: %s\n", s.Error)
			continue
		}
		writeNetwork(out, s.Network)
		for _, p := range s.Problems {
			fmt.Fprintf(out, "error: %s\n", p)
		}
		writeUsers(out, s.Users)
		section(out, "Edge links", []string{"NODE", "INTERFACE", "EDGE POD"}, len(s.Edges), func(row func(...any)) {
			for _, e := range s.Edges {
				row(e.Node, e.Interface, e.Pod)
			}
		})
		section(out, "Pods", []string{"POD", "NODE", "INTERFACE", "IPS", "MAC"}, len(s.Pods), func(row func(...any)) {
			for _, p := range s.Pods {
				row(p.Pod, p.Node, p.Interface, dash(strings.Join(p.IPs, ",")), dash(p.MAC))
			}
		})
	}
	return nil
}

func writeNetwork(out io.Writer, v *NetworkView) {
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	defer tw.Flush()
	fmt.Fprintf(tw, "Type\t%s\n", v.Type)
	switch {
	case v.Ready == "":
		fmt.Fprintf(tw, "Ready\t- (no status from the operator yet)\n")
	case v.Message == "":
		fmt.Fprintf(tw, "Ready\t%s  %s\n", v.Ready, v.Reason)
	default:
		fmt.Fprintf(tw, "Ready\t%s  %s: %s\n", v.Ready, v.Reason, v.Message)
	}
	fmt.Fprintf(tw, "VNI\t%v\n", dash(v.VNI))
	if v.Provider == nil {
		return
	}
	fmt.Fprintf(tw, "Inter-cluster VNI\t%v\n", dash(v.InterClusterVNI))
	fmt.Fprintf(tw, "Provider\t%s at %s\n", v.Provider.Name, v.Provider.Domain)
	if len(v.AccessList) == 0 {
		fmt.Fprintf(tw, "Access list\t(empty: open here, the provider's permissions decide)\n")
	} else {
		fmt.Fprintf(tw, "Access list\t%s\n", strings.Join(v.AccessList, ", "))
	}
}

func writeUsers(out io.Writer, users []UserAccess) {
	n := 0
	for _, u := range users {
		n += len(u.Allowed) + len(u.Refused)
	}
	section(out, "Authorizations", []string{"USER", "POD", "DECISION", "REASON", "EXPIRES", "DETAIL"}, n, func(row func(...any)) {
		for _, u := range users {
			user := u.User
			if user == "" {
				user = "(unknown)"
			}
			for _, p := range u.Allowed {
				row(user, p.Pod, "allowed", dash(p.Reason), expires(p), dash(p.Detail))
			}
			for _, p := range u.Refused {
				row(user, p.Pod, "refused", dash(p.Reason), expires(p), dash(p.Detail))
			}
		}
	})
}

func expires(p PodAccess) string {
	if p.Expires == nil {
		return "-"
	}
	return p.Expires.UTC().Format(time.RFC3339)
}

// section writes a titled table of n rows, indented, or "(none)".
func section(out io.Writer, title string, columns []string, n int, rows func(row func(...any))) {
	fmt.Fprintf(out, "\n%s\n", title)
	if n == 0 {
		fmt.Fprintln(out, "  (none)")
		return
	}
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	defer tw.Flush()
	fmt.Fprintf(tw, "  %s\n", strings.Join(columns, "\t"))
	rows(func(cells ...any) {
		s := make([]string, len(cells))
		for i, c := range cells {
			s[i] = fmt.Sprint(c)
		}
		fmt.Fprintf(tw, "  %s\n", strings.Join(s, "\t"))
	})
}
