package toolchain

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestPlanCache(t *testing.T) {
	bins := []string{"a", "b", "c"}
	all := map[string]bool{"a": true, "b": true, "c": true}
	tests := []struct {
		name    string
		have    string
		present map[string]bool
		want    cachePlan
	}{
		{"hit", "S", all, cachePlan{}},
		{"missing one", "S", map[string]bool{"a": true, "c": true}, cachePlan{build: []string{"b"}}},
		{"empty dir", "S", nil, cachePlan{build: bins}},
		{"no stamp", "", all, cachePlan{clean: true, build: bins}},
		{"other spec", "OLD", all, cachePlan{clean: true, build: bins}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := planCache(tt.have, "S", tt.present, bins); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("planCache() = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestStamp(t *testing.T) {
	base := Kubernetes()
	if base.stamp() != Kubernetes().stamp() {
		t.Fatal("equal specs have different stamps")
	}
	changes := map[string]func(*Build){
		"version": func(b *Build) { b.Version = "v1.34.3" },
		"ldflags": func(b *Build) { b.LDFlags += " -s" },
		"env":     func(b *Build) { b.Env = []string{"CGO_ENABLED=0"} },
		"replace": func(b *Build) { b.Replace = map[string]string{"k8s.io/api": "k8s.io/api v0.34.1"} },
		"tags":    func(b *Build) { b.Tags = []string{"netgo"} },
		"names":   func(b *Build) { b.Names = map[string]string{"k8s.io/kubernetes/cmd/kubelet": "kl"} },
		"sources": func(b *Build) { b.Sources = map[string]string{"cmd/x/main.go": "package main"} },
	}
	for name, edit := range changes {
		b := Kubernetes()
		edit(&b)
		if b.stamp() == base.stamp() {
			t.Errorf("changing %s keeps the stamp", name)
		}
	}
}

// TestStampIgnoresUnusedFields: a field added to Build for some specs must
// not change the stamps of the others, or every cache is rebuilt (about
// 6 minutes for Kubernetes) and trees with and without the field rebuild
// each other's caches in turn.
func TestStampIgnoresUnusedFields(t *testing.T) {
	spec, err := json.Marshal(Etcd())
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(spec), "Sources") {
		t.Errorf("a spec without sources stamps them: %s", spec)
	}
}

func TestReadStamp(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, stampName)
	if got, err := readStamp(path); err != nil || got != "" {
		t.Fatalf("readStamp(missing) = %q, %v; want \"\", nil", got, err)
	}
	if err := writeFileAtomic(path, []byte("abc\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if got, err := readStamp(path); err != nil || got != "abc" {
		t.Fatalf("readStamp() = %q, %v; want \"abc\", nil", got, err)
	}
	if _, err := os.Stat(path + ".partial"); !os.IsNotExist(err) {
		t.Errorf("temporary stamp left behind: %v", err)
	}
}
