package toolchain

import (
	"fmt"
	"path"
	"regexp"
	"sort"
	"strings"
)

// goDirective is the go version written into throwaway modules; go mod tidy
// raises it when a dependency needs more.
const goDirective = "1.24"

// majorSuffix matches a module major-version path element such as "v3".
var majorSuffix = regexp.MustCompile(`^v[0-9]+$`)

// binaryName returns the file name the binary of pkg gets: the override in
// b.Names if any, else what go build would pick (the last path element,
// skipping a major-version suffix like "/v3").
func (b Build) binaryName(pkg string) string {
	if name, ok := b.Names[pkg]; ok {
		return name
	}
	name := path.Base(pkg)
	if majorSuffix.MatchString(name) && path.Dir(pkg) != "." {
		name = path.Base(path.Dir(pkg))
	}
	return name
}

// binaries returns the binary names of b.Packages, in order.
func (b Build) binaries() []string {
	names := make([]string, len(b.Packages))
	for i, pkg := range b.Packages {
		names[i] = b.binaryName(pkg)
	}
	return names
}

// validate reports specs that Ensure cannot build or cache safely.
func (b Build) validate() error {
	switch {
	case b.Name == "" || strings.ContainsAny(b.Name, `/\ `) || strings.HasPrefix(b.Name, "."):
		return fmt.Errorf("invalid build name %q", b.Name)
	case b.Module == "" || b.Version == "":
		return fmt.Errorf("build %q: module and version are required", b.Name)
	case len(b.Packages) == 0:
		return fmt.Errorf("build %q: no packages", b.Name)
	}
	seen := map[string]string{}
	for _, pkg := range b.Packages {
		name := b.binaryName(pkg)
		if name == "" || name == "." || strings.HasPrefix(name, ".") || strings.ContainsRune(name, '/') {
			return fmt.Errorf("build %q: invalid binary name %q for package %q", b.Name, name, pkg)
		}
		if other, dup := seen[name]; dup {
			return fmt.Errorf("build %q: packages %q and %q both make binary %q", b.Name, other, pkg, name)
		}
		seen[name] = pkg
	}
	for name := range b.Sources {
		clean := path.Clean(name)
		if clean != name || path.IsAbs(name) || name == "." || strings.HasPrefix(name, "../") ||
			name == "go.mod" || name == "go.sum" || name == "tools.go" {
			return fmt.Errorf("build %q: invalid source path %q: use a clean relative path inside the module other than go.mod, go.sum and tools.go", b.Name, name)
		}
	}
	for from, to := range b.Replace {
		if len(strings.Fields(to)) != 2 {
			return fmt.Errorf("build %q: replacement %q for %q is not \"module version\"", b.Name, to, from)
		}
	}
	return nil
}

// goMod renders the throwaway module's go.mod before go mod tidy fills in
// the indirect requirements.
func (b Build) goMod() string {
	var s strings.Builder
	fmt.Fprintf(&s, "module %s\n\ngo %s\n\n", b.ModulePath(), goDirective)
	fmt.Fprintf(&s, "require %s %s\n", b.Module, b.Version)
	for _, mod := range sortedKeys(b.Require) {
		fmt.Fprintf(&s, "require %s %s\n", mod, b.Require[mod])
	}
	if len(b.Replace) > 0 {
		s.WriteString("\n")
	}
	for _, mod := range sortedKeys(b.Replace) {
		fmt.Fprintf(&s, "replace %s => %s\n", mod, strings.Join(strings.Fields(b.Replace[mod]), " "))
	}
	return s.String()
}

// ModulePath is the import path of the throwaway module; packages of
// b.Sources are imported below it.
func (b Build) ModulePath() string { return "switchboard-build/" + b.Name }

// toolsGo renders a file that blank-imports every package to build from
// other modules, so that go mod tidy keeps their modules (it finds the
// imports of the module's own Sources by itself). Its build tag keeps it
// out of any real build.
func (b Build) toolsGo() string {
	var s strings.Builder
	s.WriteString("//go:build tools\n\n// Package tools pins the packages this module builds.\npackage tools\n\nimport (\n")
	for _, pkg := range b.Packages {
		if !strings.HasPrefix(pkg, b.ModulePath()+"/") {
			fmt.Fprintf(&s, "\t_ %q\n", pkg)
		}
	}
	s.WriteString(")\n")
	return s.String()
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
