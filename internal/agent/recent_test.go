package agent

import (
	"slices"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	sbv1 "switchboard/api/v1alpha1"
)

func testAtt(name, container string) sbv1.Attachment {
	return sbv1.Attachment{
		ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: name},
		Spec:       sbv1.AttachmentSpec{ContainerID: container, Interface: "net1"},
	}
}

func names(atts []sbv1.Attachment) []string {
	var out []string
	for _, a := range atts {
		out = append(out, a.Name)
	}
	slices.Sort(out)
	return out
}

func TestRecentWritesCorrectTheCache(t *testing.T) {
	t0 := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	a, b, c := testAtt("red-10-0-0-1", "c1"), testAtt("red-10-0-0-2", "c2"), testAtt("red-10-0-0-3", "c3")
	r := newRecentWrites()
	r.Created(&c, t0) // created, not in the cache yet
	r.Deleted(&b, t0) // deleted, still in the cache
	r.Created(&a, t0) // created and already in the cache: not doubled
	cached := []sbv1.Attachment{a, b}
	if got, want := names(r.Correct(cached, t0.Add(time.Second))), []string{"red-10-0-0-1", "red-10-0-0-3"}; !slices.Equal(got, want) {
		t.Errorf("corrected = %v, want %v", got, want)
	}
	if len(cached) != 2 || cached[1].Name != "red-10-0-0-2" {
		t.Errorf("Correct modified its input: %v", names(cached))
	}
	// A re-created name (same address, new ADD) is live again.
	r.Created(&b, t0.Add(2*time.Second))
	if got := names(r.Correct([]sbv1.Attachment{a}, t0.Add(3*time.Second))); !slices.Contains(got, "red-10-0-0-2") {
		t.Errorf("re-created attachment missing: %v", got)
	}
	// Deleting what this agent created forgets the creation.
	r.Deleted(&c, t0.Add(4*time.Second))
	if got := names(r.Correct(nil, t0.Add(5*time.Second))); slices.Contains(got, "red-10-0-0-3") {
		t.Errorf("deleted attachment still listed: %v", got)
	}
	// After the TTL the cache alone is the truth.
	if got := names(r.Correct([]sbv1.Attachment{b}, t0.Add(recentTTL+time.Hour))); !slices.Equal(got, []string{"red-10-0-0-2"}) {
		t.Errorf("after TTL = %v, want the cache's [red-10-0-0-2]", got)
	}
}
