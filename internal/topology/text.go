package topology

import (
	"fmt"
	"io"
	"strings"
)

// WriteText writes t as an indented tree: a cluster per section, its
// nodes, each node's gateway and pods, then the tunnels.
func WriteText(w io.Writer, t Topology) error {
	var b strings.Builder
	fmt.Fprintf(&b, "network %s\n", t.Network)
	for _, c := range t.Clusters {
		fmt.Fprintf(&b, "\ncluster %s (namespace %s)", c.Context, c.Namespace)
		if c.Error != "" {
			fmt.Fprintf(&b, "\n  error: %s\n", c.Error)
			continue
		}
		fmt.Fprintf(&b, ": %s\n", clusterSummary(c))
		var nodes []branch
		for _, n := range c.Nodes {
			nodes = append(nodes, nodeBranch(n))
		}
		writeTree(&b, "", nodes)
		for _, p := range c.Problems {
			fmt.Fprintf(&b, "  problem: %s\n", p)
		}
	}
	b.WriteString("\ntunnels\n")
	if len(t.Tunnels) == 0 {
		b.WriteString("  (none)\n")
	}
	for _, tn := range t.Tunnels {
		fmt.Fprintf(&b, "  %s <-> %s: %s\n", endpointName(tn.A), endpointName(tn.B), tunnelSummary(tn))
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// clusterSummary is the network's state in cluster c, on one line.
func clusterSummary(c Cluster) string {
	parts := []string{c.Type}
	switch {
	case c.Ready == "":
		parts = append(parts, "no status from the operator yet")
	case c.Reason != "":
		parts = append(parts, fmt.Sprintf("Ready %s (%s)", c.Ready, c.Reason))
	default:
		parts = append(parts, "Ready "+c.Ready)
	}
	if c.VNI != 0 {
		parts = append(parts, fmt.Sprintf("VNI %d", c.VNI))
	}
	if c.InterClusterVNI != 0 {
		parts = append(parts, fmt.Sprintf("inter-cluster VNI %d", c.InterClusterVNI))
	}
	return strings.Join(parts, ", ")
}

// nodeLabel, gatewayLabel and podLabel are the one-line descriptions that
// every renderer shows.
func nodeLabel(n Node) string {
	if n.Name == "" {
		return "node (not scheduled)"
	}
	if n.IP == "" {
		return "node " + n.Name
	}
	return fmt.Sprintf("node %s %s", n.Name, n.IP)
}

// gatewayLines and podLines describe a gateway and a pod in two lines:
// what it is, then how it is on the network. The text tree joins them.
func gatewayLines(g *Gateway) []string {
	state := "ready"
	if !g.Ready {
		state = "NOT READY: " + g.Detail
	}
	return []string{"gateway " + g.Pod, fmt.Sprintf("cable %s, %s, %s", g.Cable, g.Encryption, state)}
}

func podLines(p Pod) []string {
	first := "pod " + p.Name
	if p.User != "" {
		first += " (user " + p.User + ")"
	}
	if p.Refused != "" {
		return []string{first, "REFUSED: " + p.Refused}
	}
	second := append([]string{p.Interface}, p.IPs...)
	if p.MAC != "" {
		second = append(second, p.MAC)
	}
	return []string{first, strings.Join(second, " ")}
}

func endpointName(e Endpoint) string { return e.Context + "/" + e.Node }

func tunnelSummary(t Tunnel) string {
	parts := []string{t.State}
	if t.ID != 0 {
		parts = append(parts, fmt.Sprintf("VNI %d", t.ID))
	}
	parts = append(parts, t.Encryption)
	s := strings.Join(parts, ", ")
	if t.Detail != "" {
		s += ": " + t.Detail
	}
	return s
}

// branch is a line of the tree and the lines under it.
type branch struct {
	label    string
	children []branch
}

func nodeBranch(n Node) branch {
	b := branch{label: nodeLabel(n)}
	if n.Gateway != nil {
		b.children = append(b.children, branch{label: strings.Join(gatewayLines(n.Gateway), ": ")})
	}
	for _, p := range n.Pods {
		b.children = append(b.children, branch{label: strings.Join(podLines(p), ": ")})
	}
	if len(b.children) == 0 {
		b.children = append(b.children, branch{label: "(nothing on this network)"})
	}
	return b
}

// writeTree writes branches with box-drawing indentation after prefix.
func writeTree(b *strings.Builder, prefix string, branches []branch) {
	for i, br := range branches {
		last := i == len(branches)-1
		head, next := "├─ ", "│  "
		if last {
			head, next = "└─ ", "   "
		}
		fmt.Fprintf(b, "%s%s%s\n", prefix, head, br.label)
		writeTree(b, prefix+next, br.children)
	}
}
