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
	fmt.Fprintf(&s, "module switchboard-build/%s\n\ngo %s\n\n", b.Name, goDirective)
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

// toolsGo renders a file that blank-imports every package to build, so
// that go mod tidy keeps their modules. Its build tag keeps it out of any
// real build.
func (b Build) toolsGo() string {
	var s strings.Builder
	s.WriteString("//go:build tools\n\n// Package tools pins the packages this module builds.\npackage tools\n\nimport (\n")
	for _, pkg := range b.Packages {
		fmt.Fprintf(&s, "\t_ %q\n", pkg)
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
