package topology

import (
	"fmt"
	"io"
	"strings"
)

// Layout of the SVG picture, in pixels: text is monospace, so a line's
// width is its length times charW.
const (
	charW    = 7.2
	lineH    = 16.0
	pad      = 10.0
	gap      = 8.0
	colGap   = 280.0 // between clusters, room for the tunnels' labels
	margin   = 20.0
	wrapAt   = 64 // characters, for problems and errors
	labelCol = 36 // characters per line of a tunnel's label
)

// Colours (fill, stroke) of the picture's parts.
const (
	clusterFill, clusterStroke = "#f4f6fb", "#4a5a80"
	nodeFill, nodeStroke       = "#ffffff", "#8899aa"
	podFill, podStroke         = "#eef3ff", "#5c6bc0"
	gwFill, gwStroke           = "#e8f5e9", "#2e7d32"
	badFill, badStroke         = "#fdecea", "#c62828"
)

// item is a box of text lines: a pod or a gateway.
type item struct {
	lines        []string
	fill, stroke string
	dashed       bool
	gateway      string // the gateway's ID, for the tunnels; "" for a pod
}

func (it item) w() float64 { return textW(it.lines) + 2*pad }
func (it item) h() float64 { return float64(len(it.lines))*lineH + pad }

// nodeBox is a node and its items.
type nodeBox struct {
	label string
	items []item
}

func (n nodeBox) innerW() float64 {
	w := textW([]string{n.label})
	for _, it := range n.items {
		w = max(w, it.w())
	}
	return w
}

func (n nodeBox) h() float64 {
	h := lineH + pad
	for _, it := range n.items {
		h += it.h() + gap
	}
	return h + pad
}

// clusterBox is a cluster: header lines, nodes, footer lines (problems).
type clusterBox struct {
	header, footer []string
	nodes          []nodeBox
	stroke         string
}

func (c clusterBox) w() float64 {
	w := max(textW(c.header), textW(c.footer))
	for _, n := range c.nodes {
		w = max(w, n.innerW()+2*pad)
	}
	return w + 2*pad
}

func (c clusterBox) h() float64 {
	h := float64(len(c.header))*lineH + pad
	for _, n := range c.nodes {
		h += n.h() + gap
	}
	return h + float64(len(c.footer))*lineH + 2*pad
}

// WriteSVG draws t as an SVG picture: clusters side by side as boxes, the
// nodes inside, each node's gateway and pods inside it, and a line per
// tunnel between gateways, green when up, dashed red when down. It needs
// no Graphviz: the layout is this simple one.
func WriteSVG(w io.Writer, t Topology) error {
	boxes := make([]clusterBox, len(t.Clusters))
	for i, c := range t.Clusters {
		boxes[i] = clusterOf(c)
	}
	title := "network " + t.Network
	width, height := 2*margin+textW([]string{title}), 0.0
	x := margin
	for i, c := range boxes {
		if i > 0 {
			x += colGap
		}
		x += c.w()
		height = max(height, c.h())
	}
	width = max(width, x+margin)
	top := margin + lineH + pad
	height += top + margin

	var s svg
	fmt.Fprintf(&s.b, `<svg xmlns="http://www.w3.org/2000/svg" width="%.0f" height="%.0f" viewBox="0 0 %.0f %.0f" font-family="monospace" font-size="12">`+"\n",
		width, height, width, height)
	fmt.Fprintf(&s.b, "<title>%s</title>\n", esc(title))
	s.rect(0, 0, width, height, "#ffffff", "none", false)
	s.text(margin, margin+lineH-4, title, "#000000", true)
	gws := map[string][4]float64{} // gateway ID → x, y, w, h
	x = margin
	for _, c := range boxes {
		s.cluster(c, x, top, gws)
		x += c.w() + colGap
	}
	for _, tn := range t.Tunnels {
		a, okA := gws[gatewayID(tn.A.Context, tn.A.Node)]
		b, okB := gws[gatewayID(tn.B.Context, tn.B.Node)]
		if okA && okB {
			s.tunnel(tn, a, b)
		}
	}
	s.b.WriteString("</svg>\n")
	_, err := io.WriteString(w, s.b.String())
	return err
}

// clusterOf is the box of cluster c, with its texts.
func clusterOf(c Cluster) clusterBox {
	cb := clusterBox{header: []string{fmt.Sprintf("cluster %s (namespace %s)", c.Context, c.Namespace)}, stroke: clusterStroke}
	if c.Error != "" {
		cb.footer, cb.stroke = wrap("error: "+c.Error, wrapAt), badStroke
		return cb
	}
	cb.header = append(cb.header, wrap(clusterSummary(c), wrapAt)...)
	for _, p := range c.Problems {
		cb.footer = append(cb.footer, wrap("problem: "+p, wrapAt)...)
	}
	for _, n := range c.Nodes {
		nb := nodeBox{label: nodeLabel(n)}
		if g := n.Gateway; g != nil {
			it := item{lines: gatewayLines(g), fill: gwFill, stroke: gwStroke, gateway: gatewayID(c.Context, n.Name)}
			if !g.Ready {
				it.lines = append(it.lines[:1], wrap(it.lines[1], wrapAt)...)
				it.fill, it.stroke = badFill, badStroke
			}
			nb.items = append(nb.items, it)
		}
		for _, p := range n.Pods {
			it := item{lines: podLines(p), fill: podFill, stroke: podStroke}
			if p.Refused != "" {
				it.fill, it.stroke, it.dashed = badFill, badStroke, true
			}
			nb.items = append(nb.items, it)
		}
		if len(nb.items) == 0 {
			nb.items = append(nb.items, item{lines: []string{"(nothing on this network)"}, fill: nodeFill, stroke: nodeStroke, dashed: true})
		}
		cb.nodes = append(cb.nodes, nb)
	}
	return cb
}

// svg accumulates the picture's elements.
type svg struct{ b strings.Builder }

func (s *svg) rect(x, y, w, h float64, fill, stroke string, dashed bool) {
	dash := ""
	if dashed {
		dash = ` stroke-dasharray="5,3"`
	}
	fmt.Fprintf(&s.b, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" rx="6" fill="%s" stroke="%s"%s/>`+"\n", x, y, w, h, fill, stroke, dash)
}

func (s *svg) text(x, y float64, str, color string, bold bool) {
	weight := ""
	if bold {
		weight = ` font-weight="bold"`
	}
	fmt.Fprintf(&s.b, `<text x="%.1f" y="%.1f" fill="%s"%s xml:space="preserve">%s</text>`+"\n", x, y, color, weight, esc(str))
}

// lines writes text lines from the top y, one per lineH.
func (s *svg) lines(x, y float64, lines []string, color string, bold bool) {
	for i, l := range lines {
		s.text(x, y+float64(i+1)*lineH-4, l, color, bold && i == 0)
	}
}

// cluster draws c with its top-left corner at x, y and records where each
// gateway's box is in gws.
func (s *svg) cluster(c clusterBox, x, y float64, gws map[string][4]float64) {
	w := c.w()
	s.rect(x, y, w, c.h(), clusterFill, c.stroke, false)
	s.lines(x+pad, y+pad/2, c.header, "#1a237e", true)
	ny := y + float64(len(c.header))*lineH + pad
	for _, n := range c.nodes {
		nw := w - 2*pad
		s.rect(x+pad, ny, nw, n.h(), nodeFill, nodeStroke, false)
		s.lines(x+2*pad, ny+pad/2, []string{n.label}, "#37474f", true)
		iy := ny + lineH + pad
		for _, it := range n.items {
			iw := nw - 2*pad
			s.rect(x+2*pad, iy, iw, it.h(), it.fill, it.stroke, it.dashed)
			s.lines(x+3*pad, iy+pad/2, it.lines, "#000000", false)
			if it.gateway != "" {
				gws[it.gateway] = [4]float64{x + 2*pad, iy, iw, it.h()}
			}
			iy += it.h() + gap
		}
		ny += n.h() + gap
	}
	s.lines(x+pad, ny, c.footer, badStroke, false)
}

// tunnel draws tn between the gateway boxes a and b (x, y, w, h), from
// the facing sides, with its label above the middle.
func (s *svg) tunnel(tn Tunnel, a, b [4]float64) {
	x1, y1 := a[0]+a[2], a[1]+a[3]/2
	x2, y2 := b[0], b[1]+b[3]/2
	if b[0] < a[0] {
		x1, x2 = a[0], b[0]+b[2]
	}
	color, extra := gwStroke, ` stroke-width="3"`
	if tn.State != StateUp {
		color, extra = badStroke, ` stroke-width="2" stroke-dasharray="8,4"`
	}
	fmt.Fprintf(&s.b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="%s"%s/>`+"\n", x1, y1, x2, y2, color, extra)
	label := wrap(fmt.Sprintf("tunnel %s <-> %s: %s", endpointName(tn.A), endpointName(tn.B), tunnelSummary(tn)), labelCol)
	mx, my := (x1+x2)/2, (y1+y2)/2-float64(len(label))*lineH-4
	for i, l := range label {
		fmt.Fprintf(&s.b, `<text x="%.1f" y="%.1f" fill="%s" text-anchor="middle" xml:space="preserve">%s</text>`+"\n",
			mx, my+float64(i+1)*lineH, color, esc(l))
	}
}

// textW is the width of the longest of lines.
func textW(lines []string) float64 {
	n := 0
	for _, l := range lines {
		n = max(n, len([]rune(l)))
	}
	return float64(n) * charW
}

// wrap breaks s into lines of at most n characters at spaces (a longer
// word stays whole).
func wrap(s string, n int) []string {
	var out []string
	line := ""
	for _, word := range strings.Fields(s) {
		if line != "" && len([]rune(line))+1+len([]rune(word)) > n {
			out = append(out, line)
			line = ""
		}
		if line != "" {
			line += " "
		}
		line += word
	}
	if line != "" || len(out) == 0 {
		out = append(out, line)
	}
	return out
}

// esc escapes s for SVG text and attribute values.
func esc(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;", "'", "&apos;").Replace(s)
}
