// Package components names Switchboard's deployable components and the
// container image of each, assembled from the project's own binaries (the
// output of make build) by package image, with no base image and no
// registry: the lab imports them into its nodes, and `switchboard images`
// (make images) writes them for any cluster.
package components

import (
	"fmt"
	"path/filepath"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"

	"switchboard/internal/image"
)

// Component is one deployable part: the binaries its image holds, the first
// one its entrypoint.
type Component struct {
	Name     string
	Binaries []string
}

// All are the components with an image, in the order the manifests deploy
// them. The agent's image carries the CNI plugin, which its DaemonSet
// copies onto the node.
var All = []Component{
	{Name: "switchboard-operator", Binaries: []string{"switchboard-operator"}},
	{Name: "switchboard-agent", Binaries: []string{"switchboard-agent", "switchboard-cni"}},
	{Name: "switchboard-edge", Binaries: []string{"switchboard-edge"}},
	{Name: "switchboard-idco", Binaries: []string{"switchboard-idco"}},
}

// Get returns the component called name.
func Get(name string) (Component, error) {
	for _, c := range All {
		if c.Name == name {
			return c, nil
		}
	}
	names := make([]string, len(All))
	for i, c := range All {
		names[i] = c.Name
	}
	return Component{}, fmt.Errorf("no component %q: use one of %s", name, strings.Join(names, ", "))
}

// Ref is the image reference of c in repository (a registry host and
// path, e.g. "ghcr.io/example/switchboard" or "switchboard.local") with
// tag: "<repository>/<name>:<tag>". It reports a reference that a
// registry would refuse.
func (c Component) Ref(repository, tag string) (string, error) {
	ref := strings.TrimSuffix(repository, "/") + "/" + c.Name + ":" + tag
	if _, err := name.NewTag(ref, name.StrictValidation); err != nil {
		return "", fmt.Errorf("image reference %q (repository %q, tag %q): %w: use a registry host and path of lower-case letters, digits, '.', '-', '/' and a tag of letters, digits, '.', '_', '-'", ref, repository, tag, err)
	}
	return ref, nil
}

// Image is the image of c tagged ref, with its binaries from the directory
// bin under /usr/local/bin.
func (c Component) Image(bin, ref string) image.Spec {
	s := image.Spec{Ref: ref, Entrypoint: []string{"/usr/local/bin/" + c.Binaries[0]}}
	for _, b := range c.Binaries {
		s.Files = append(s.Files, image.File{Path: "/usr/local/bin/" + b, Source: filepath.Join(bin, b), Mode: 0o755})
	}
	return s
}

// Archive is the file name of c's image archive: "<name>.tar".
func (c Component) Archive() string { return c.Name + ".tar" }
