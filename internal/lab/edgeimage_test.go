package lab

import (
	"os"
	"path/filepath"
	"testing"

	"switchboard/internal/image"
)

// TestEdgeImageSpec: the edge's image builds from a binary like the others.
func TestEdgeImageSpec(t *testing.T) {
	bin := t.TempDir()
	if err := os.WriteFile(filepath.Join(bin, "switchboard-edge"), []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := image.WriteFile(EdgeImageSpec(bin), filepath.Join(t.TempDir(), "switchboard-edge.tar")); err != nil {
		t.Fatalf("write the edge image: %v", err)
	}
}
