package main

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"switchboard/internal/components"
	"switchboard/internal/image"
)

type imagesOptions struct {
	bin, out, repository, tag string
	only                      []string
}

// imagesCommand writes the components' container images as archives, for
// any cluster: `ctr -n k8s.io images import`, `kind load image-archive`,
// `docker load`, or `crane push` to a registry.
func imagesCommand() *cobra.Command {
	var o imagesOptions
	cmd := &cobra.Command{
		Use:   "images",
		Short: "Write the components' container images (operator, agent, edge, IDCO) as image archives",
		Long: `Write one image archive per component, <out>/<component>.tar, built from the
project's binaries (make build) without a base image or a registry, each tagged
<repository>/<component>:<tag>. Load them with ctr -n k8s.io images import,
kind load image-archive or docker load, or push them with crane push.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return writeImages(cmd, o) },
	}
	f := cmd.Flags()
	f.StringVar(&o.bin, "bin", "bin", "directory of the project's binaries (make build)")
	f.StringVar(&o.out, "out", "dist/images", "directory to write the archives to (created if missing)")
	f.StringVar(&o.repository, "repository", "switchboard.local", "image repository: registry host and path, without the component's name")
	f.StringVar(&o.tag, "tag", "dev", "image tag")
	f.StringSliceVar(&o.only, "component", nil, "only these components (default all), comma-separated")
	return cmd
}

func writeImages(cmd *cobra.Command, o imagesOptions) error {
	list := components.All
	if len(o.only) > 0 {
		list = nil
		for _, n := range o.only {
			c, err := components.Get(n)
			if err != nil {
				return fmt.Errorf("--component: %w", err)
			}
			list = append(list, c)
		}
	}
	refs := make([]string, len(list))
	for i, c := range list {
		ref, err := c.Ref(o.repository, o.tag)
		if err != nil {
			return fmt.Errorf("--repository and --tag: %w", err)
		}
		refs[i] = ref
		for _, b := range c.Binaries {
			if _, err := os.Stat(filepath.Join(o.bin, b)); err != nil {
				return fmt.Errorf("--bin %s: no %s binary (%v): run make build, or point --bin at its output", o.bin, b, err)
			}
		}
	}
	if err := os.MkdirAll(o.out, 0o755); err != nil {
		return fmt.Errorf("--out: %w", err)
	}
	for i, c := range list {
		path := filepath.Join(o.out, c.Archive())
		if err := image.WriteFile(c.Image(o.bin, refs[i]), path); err != nil {
			return err
		}
		fmt.Fprintf(cmd.OutOrStdout(), "%s\t%s\n", path, refs[i])
	}
	return nil
}
