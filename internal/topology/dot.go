package topology

import (
	"fmt"
	"io"
	"strings"
)

// WriteDot writes t as Graphviz source (render it with `dot -Tsvg`, not
// needed here): a box per cluster holding a box per node, the node's
// gateway and pods inside, and a line per tunnel between gateways.
func WriteDot(w io.Writer, t Topology) error {
	var b strings.Builder
	fmt.Fprintf(&b, "graph %s {\n", quote(t.Network))
	fmt.Fprintf(&b, "  label=%s;\n  labelloc=t;\n  fontname=\"monospace\";\n", quote("network "+t.Network))
	b.WriteString("  node [shape=box, style=rounded, fontname=\"monospace\", fontsize=10];\n")
	for i, c := range t.Clusters {
		fmt.Fprintf(&b, "  subgraph \"cluster_%d\" {\n", i)
		head := fmt.Sprintf("cluster %s (namespace %s)", c.Context, c.Namespace)
		if c.Error != "" {
			fmt.Fprintf(&b, "    label=%s;\n    color=red;\n", quote(head+"\nerror: "+c.Error))
			fmt.Fprintf(&b, "    %s [label=\"(unreadable)\", style=dotted];\n  }\n", quote(c.Context+"/error"))
			continue
		}
		fmt.Fprintf(&b, "    label=%s;\n", quote(head+"\n"+clusterSummary(c)))
		for j, n := range c.Nodes {
			fmt.Fprintf(&b, "    subgraph \"cluster_%d_%d\" {\n      label=%s;\n", i, j, quote(nodeLabel(n)))
			if n.Gateway != nil {
				color := "darkgreen"
				if !n.Gateway.Ready {
					color = "red"
				}
				fmt.Fprintf(&b, "      %s [label=%s, shape=hexagon, style=\"\", color=%s];\n",
					quote(gatewayID(c.Context, n.Name)), quote(strings.Join(gatewayLines(n.Gateway), "\n")), color)
			}
			for _, p := range n.Pods {
				extra := ""
				if p.Refused != "" {
					extra = ", style=\"rounded,dashed\", color=red"
				}
				fmt.Fprintf(&b, "      %s [label=%s%s];\n", quote(c.Context+"/"+p.Name+"/"+p.Interface), quote(strings.Join(podLines(p), "\n")), extra)
			}
			if n.Gateway == nil && len(n.Pods) == 0 {
				fmt.Fprintf(&b, "      %s [label=\"(nothing on this network)\", style=dotted];\n", quote(c.Context+"/"+n.Name+"/empty"))
			}
			b.WriteString("    }\n")
		}
		b.WriteString("  }\n")
	}
	for _, tn := range t.Tunnels {
		style := "color=darkgreen, penwidth=2"
		if tn.State != StateUp {
			style = "color=red, style=dashed"
		}
		fmt.Fprintf(&b, "  %s -- %s [label=%s, %s];\n", quote(gatewayID(tn.A.Context, tn.A.Node)), quote(gatewayID(tn.B.Context, tn.B.Node)),
			quote(tunnelSummary(tn)), style)
	}
	b.WriteString("}\n")
	_, err := io.WriteString(w, b.String())
	return err
}

func gatewayID(context, node string) string { return context + "/" + node + "/gateway" }

// quote makes s a Graphviz quoted string; a newline becomes a centred line
// break.
func quote(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`)
	return `"` + r.Replace(s) + `"`
}
