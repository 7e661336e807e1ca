package v1alpha1

import (
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/util/validation"
)

func TestEdgeAttachmentName(t *testing.T) {
	long := strings.Repeat("n", 200)
	tests := []struct {
		network, node string
		want          string // "" = only check validity and length
	}{
		{"red", "a-node1", "red-edge-a-node1"},
		{"red", "node1.example.com", "red-edge-node1.example.com"},
		{"Blue", "A-Node1", "blue-edge-a-node1"},
		{long, long, ""},
		{long, "x." + strings.Repeat("y", 60), ""},
	}
	seen := map[string]bool{}
	for _, tt := range tests {
		got := EdgeAttachmentName(tt.network, tt.node)
		if tt.want != "" && got != tt.want {
			t.Errorf("EdgeAttachmentName(%q, %q) = %q, want %q", tt.network, tt.node, got, tt.want)
		}
		if errs := validation.IsDNS1123Subdomain(got); len(errs) > 0 {
			t.Errorf("EdgeAttachmentName(%.20q…, %.20q…) = %q: not a DNS subdomain: %v", tt.network, tt.node, got, errs)
		}
		if seen[got] {
			t.Errorf("EdgeAttachmentName(%.20q…, %.20q…) = %q twice", tt.network, tt.node, got)
		}
		seen[got] = true
	}
	// Two long names differing only past the cut differ.
	a, b := EdgeAttachmentName(long, long+"a"), EdgeAttachmentName(long, long+"b")
	if a == b || len(a) > 253 {
		t.Errorf("long names: %q and %q (len %d); want distinct, at most 253", a, b, len(a))
	}
}
