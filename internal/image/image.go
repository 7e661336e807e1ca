// Package image assembles single-layer container images from local files,
// without a registry, and writes them as docker-archive tarballs that
// `ctr images import` and `docker load` accept.
//
// The layer is deterministic: entries are sorted, every parent directory is
// present, owners are root and all timestamps are the Unix epoch, so the same
// Spec and the same input files always give the same image digest.
package image

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// File is one regular file in the image.
type File struct {
	// Path is the absolute, clean path of the file inside the image.
	Path string
	// Source is a host file whose contents are copied into the image.
	Source string
	// Data is the file's contents when Source is empty. Setting both is an
	// error.
	Data []byte
	// Mode holds the permission bits (setuid, setgid and sticky included).
	// Zero means the source file's permissions, or 0644 for Data.
	Mode os.FileMode
}

// Spec describes an image. The zero value of every field except Ref is
// valid; Ref must name a tag, e.g. "switchboard.local/testbox:v1".
type Spec struct {
	// Ref is the repository tag recorded in the archive.
	Ref string
	// Files are the regular files of the single layer.
	Files []File
	// Symlinks maps a link's absolute path in the image to its target.
	Symlinks map[string]string
	// Entrypoint, Cmd, Env and WorkingDir go into the image config as
	// given; nothing is added (containerd supplies a default PATH).
	Entrypoint, Cmd, Env []string
	WorkingDir           string
}

// epoch is the timestamp used for every layer entry and the image config.
func epoch() time.Time { return time.Unix(0, 0).UTC() }

// Build assembles the image for spec, for linux on runtime.GOARCH, and
// returns it with its tag. Source files are read once, during Build.
func Build(spec Spec) (name.Tag, v1.Image, error) {
	tag, err := name.NewTag(spec.Ref, name.StrictValidation)
	if err != nil {
		return name.Tag{}, nil, fmt.Errorf("parse image ref %q: %w", spec.Ref, err)
	}
	layer, err := buildLayer(spec)
	if err != nil {
		return name.Tag{}, nil, fmt.Errorf("build layer of %q: %w", spec.Ref, err)
	}
	img, err := mutate.Append(empty.Image, mutate.Addendum{
		Layer:   layer,
		History: v1.History{Created: v1.Time{Time: epoch()}, CreatedBy: "switchboard internal/image"},
	})
	if err != nil {
		return name.Tag{}, nil, fmt.Errorf("append layer to %q: %w", spec.Ref, err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return name.Tag{}, nil, fmt.Errorf("read config of %q: %w", spec.Ref, err)
	}
	cf = cf.DeepCopy()
	cf.OS = "linux"
	cf.Architecture = runtime.GOARCH
	cf.Created = v1.Time{Time: epoch()}
	cf.Config.Entrypoint = spec.Entrypoint
	cf.Config.Cmd = spec.Cmd
	cf.Config.Env = spec.Env
	cf.Config.WorkingDir = spec.WorkingDir
	img, err = mutate.ConfigFile(img, cf)
	if err != nil {
		return name.Tag{}, nil, fmt.Errorf("set config of %q: %w", spec.Ref, err)
	}
	return tag, img, nil
}

// Write builds the image for spec and writes it to w as a docker-archive
// tarball tagged spec.Ref.
func Write(spec Spec, w io.Writer) error {
	tag, img, err := Build(spec)
	if err != nil {
		return err
	}
	if err := tarball.Write(tag, img, w); err != nil {
		return fmt.Errorf("write image %q: %w", spec.Ref, err)
	}
	return nil
}

// WriteFile is Write to the file at path, created with mode 0644 or
// replaced. The archive is written to a temporary file next to path and
// renamed, so path holds either a complete archive or its previous contents.
func WriteFile(spec Spec, path string) (err error) {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return fmt.Errorf("create image file %q: %w", path, err)
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if err := Write(spec, tmp); err != nil {
		return err
	}
	if err := tmp.Chmod(0o644); err != nil {
		return fmt.Errorf("chmod image file %q: %w", tmp.Name(), err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("close image file %q: %w", tmp.Name(), err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("rename image file to %q: %w", path, err)
	}
	return nil
}
