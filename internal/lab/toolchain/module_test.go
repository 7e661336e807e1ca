package toolchain

import (
	"strings"
	"testing"
)

func TestGoMod(t *testing.T) {
	tests := []struct {
		name string
		b    Build
		want string
	}{{
		name: "plain",
		b:    Build{Name: "multus", Module: "example.com/m", Version: "v1.2.3", Packages: []string{"example.com/m/cmd/x"}},
		want: "module switchboard-build/multus\n\ngo 1.24\n\nrequire example.com/m v1.2.3\n",
	}, {
		name: "requires and replaces sorted",
		b: Build{
			Name: "k", Module: "example.com/k", Version: "v1.0.0", Packages: []string{"example.com/k/cmd/a"},
			Require: map[string]string{"example.com/z": "v0.2.0", "example.com/b": "v0.1.0"},
			Replace: map[string]string{"example.com/y": "example.com/y  v0.3.0", "example.com/c": "example.com/c-fork v0.4.0"},
		},
		want: `module switchboard-build/k

go 1.24

require example.com/k v1.0.0
require example.com/b v0.1.0
require example.com/z v0.2.0

replace example.com/c => example.com/c-fork v0.4.0
replace example.com/y => example.com/y v0.3.0
`,
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.b.goMod(); got != tt.want {
				t.Errorf("goMod() =\n%s\nwant\n%s", got, tt.want)
			}
		})
	}
}

func TestToolsGo(t *testing.T) {
	b := Build{Packages: []string{"example.com/m/cmd/a", "example.com/m/v2"}}
	want := `//go:build tools

// Package tools pins the packages this module builds.
package tools

import (
	_ "example.com/m/cmd/a"
	_ "example.com/m/v2"
)
`
	if got := b.toolsGo(); got != want {
		t.Errorf("toolsGo() =\n%s\nwant\n%s", got, want)
	}
}

func TestBinaryName(t *testing.T) {
	b := Build{Names: map[string]string{"example.com/w/cmd": "whereabouts"}}
	tests := map[string]string{
		"k8s.io/kubernetes/cmd/kubelet":                          "kubelet",
		"go.etcd.io/etcd/etcdctl/v3":                             "etcdctl",
		"gopkg.in/k8snetworkplumbingwg/multus-cni.v4/cmd/multus": "multus",
		"example.com/w/cmd":                                      "whereabouts",
		"v2":                                                     "v2",
	}
	for pkg, want := range tests {
		if got := b.binaryName(pkg); got != want {
			t.Errorf("binaryName(%q) = %q, want %q", pkg, got, want)
		}
	}
}

func TestValidate(t *testing.T) {
	ok := Build{Name: "x", Module: "example.com/x", Version: "v1.0.0", Packages: []string{"example.com/x/cmd/x"}}
	tests := []struct {
		name    string
		edit    func(*Build)
		wantErr string // "" means valid
	}{
		{"valid", func(*Build) {}, ""},
		{"no name", func(b *Build) { b.Name = "" }, "invalid build name"},
		{"slash in name", func(b *Build) { b.Name = "a/b" }, "invalid build name"},
		{"no version", func(b *Build) { b.Version = "" }, "module and version are required"},
		{"no packages", func(b *Build) { b.Packages = nil }, "no packages"},
		{"duplicate binary", func(b *Build) { b.Packages = []string{"a.com/x", "b.com/x"} }, "both make binary"},
		{"hidden binary", func(b *Build) { b.Names = map[string]string{"example.com/x/cmd/x": ".stamp"} }, "invalid binary name"},
		{"bad replace", func(b *Build) { b.Replace = map[string]string{"a.com/y": "v1.0.0"} }, "not \"module version\""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := ok
			tt.edit(&b)
			err := b.validate()
			switch {
			case tt.wantErr == "" && err != nil:
				t.Errorf("validate() = %v, want nil", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Errorf("validate() = %v, want error containing %q", err, tt.wantErr)
			}
		})
	}
}

func TestPredefinedSpecs(t *testing.T) {
	tests := []struct {
		b    Build
		bins string
	}{
		{Kubernetes(), "kube-apiserver kube-controller-manager kube-scheduler kubelet kube-proxy kubectl"},
		{Etcd(), "etcd etcdctl"},
		{Multus(), "multus"},
		{Whereabouts(), "whereabouts"},
	}
	for _, tt := range tests {
		t.Run(tt.b.Name, func(t *testing.T) {
			if err := tt.b.validate(); err != nil {
				t.Fatal(err)
			}
			if got := strings.Join(tt.b.binaries(), " "); got != tt.bins {
				t.Errorf("binaries() = %q, want %q", got, tt.bins)
			}
		})
	}
	k := Kubernetes()
	if got := k.Replace["k8s.io/client-go"]; got != "k8s.io/client-go v0.34.2" {
		t.Errorf("client-go replacement = %q", got)
	}
	for _, want := range []string{
		"-X k8s.io/component-base/version.gitVersion=v1.34.2",
		"-X k8s.io/component-base/version.gitMajor=1",
		"-X k8s.io/client-go/pkg/version.gitMinor=34",
	} {
		if !strings.Contains(k.LDFlags, want) {
			t.Errorf("Kubernetes().LDFlags lacks %q", want)
		}
	}
}

func TestShellWords(t *testing.T) {
	got := shellWords([]string{"build", "-ldflags", "-X a.b=c -X d.e=f", "it's", ""})
	want := `build -ldflags '-X a.b=c -X d.e=f' 'it'\''s' ''`
	if got != want {
		t.Errorf("shellWords() = %s, want %s", got, want)
	}
}
