package dataplane_test

import (
	"slices"
	"testing"

	"switchboard/internal/dataplane"
)

// TestRemoveOrphans: host ends that keep does not name are deleted; the
// ones it names stay; an interface made while keep runs (after the listing)
// is never touched.
func TestRemoveOrphans(t *testing.T) {
	c := newCluster(t)
	c.program(t)
	kept := c.addPod(t, c.a, "kept", red, "10.100.0.41/24")
	orphan := c.addPod(t, c.a, "orphan", red, "10.100.0.42/24")
	var late *pod
	removed, err := c.a.dp.RemoveOrphans(func() (map[string]bool, error) {
		late = c.addPod(t, c.a, "late", red, "10.100.0.43/24")
		return map[string]bool{dataplane.HostIfName(kept.spec.ContainerID, "net1"): true}, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{dataplane.HostIfName(orphan.spec.ContainerID, "net1")}
	if !slices.Equal(removed, want) {
		t.Fatalf("removed %v, want %v", removed, want)
	}
	got := podLinks(t, c.a)
	for _, p := range []*pod{kept, late} {
		if !slices.Contains(got, dataplane.HostIfName(p.spec.ContainerID, "net1")) {
			t.Fatalf("%s's interface was removed; left: %v", p.name, got)
		}
	}
	if slices.Contains(got, want[0]) {
		t.Fatalf("orphan still there: %v", got)
	}
}
