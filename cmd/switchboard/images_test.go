package main

import (
	"archive/tar"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/tarball"

	"switchboard/internal/components"
)

// fakeBin is a directory with a small file for every component's binary.
func fakeBin(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	for _, c := range components.All {
		for _, b := range c.Binaries {
			if err := os.WriteFile(filepath.Join(dir, b), []byte("#!/bin/true\n"+b), 0o755); err != nil {
				t.Fatal(err)
			}
		}
	}
	return dir
}

// layerFiles lists the regular files of the image's only layer, with modes.
func layerFiles(t *testing.T, path, ref string) (map[string]int64, []string) {
	t.Helper()
	tag, err := name.NewTag(ref)
	if err != nil {
		t.Fatal(err)
	}
	img, err := tarball.ImageFromPath(path, &tag)
	if err != nil {
		t.Fatalf("read %s as %s: %v", path, ref, err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	layers, err := img.Layers()
	if err != nil || len(layers) != 1 {
		t.Fatalf("%s: %d layers, %v; want 1", path, len(layers), err)
	}
	rc, err := layers[0].Uncompressed()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	files := map[string]int64{}
	tr := tar.NewReader(rc)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if h.Typeflag == tar.TypeReg {
			files["/"+strings.TrimPrefix(h.Name, "/")] = h.Mode
		}
	}
	return files, cf.Config.Entrypoint
}

func TestImagesWritesEveryComponent(t *testing.T) {
	bin, out := fakeBin(t), t.TempDir()
	printed := mustRun(t, "", "images", "--bin", bin, "--out", out, "--repository", "registry.example:5000/net/switchboard", "--tag", "v0.9.0")
	for _, c := range components.All {
		ref := "registry.example:5000/net/switchboard/" + c.Name + ":v0.9.0"
		path := filepath.Join(out, c.Name+".tar")
		if !strings.Contains(printed, path+"\t"+ref) {
			t.Errorf("output does not list %s as %s:\n%s", path, ref, printed)
		}
		files, entry := layerFiles(t, path, ref)
		if !slices.Equal(entry, []string{"/usr/local/bin/" + c.Binaries[0]}) {
			t.Errorf("%s: entrypoint %v", c.Name, entry)
		}
		for _, b := range c.Binaries {
			if mode, ok := files["/usr/local/bin/"+b]; !ok || mode&0o111 == 0 {
				t.Errorf("%s: /usr/local/bin/%s missing or not executable (%v, mode %o)", c.Name, b, ok, mode)
			}
		}
	}
}

func TestImagesRefusesBadInput(t *testing.T) {
	bin, out := fakeBin(t), t.TempDir()
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--repository", "Not A Registry"}, "repository"},
		{[]string{"--tag", "bad tag!"}, "tag"},
		{[]string{"--component", "switchboard-nope"}, "--component"},
		{[]string{"--bin", t.TempDir()}, "run make build"},
	} {
		args := append([]string{"images", "--bin", bin, "--out", out}, c.args...)
		if _, err := run(t, "", args...); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: error %v, want one naming %q", c.args, err, c.want)
		}
	}
	if got, _ := filepath.Glob(filepath.Join(out, "*.tar")); len(got) != 0 {
		t.Errorf("refused runs wrote archives: %v", got)
	}
}
