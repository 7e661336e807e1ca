package image

import (
	"archive/tar"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"sort"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// entry is one member of the layer tar, keyed by its absolute image path.
type entry struct {
	typeflag byte
	mode     int64
	link     string
	data     []byte
}

// buildLayer reads the spec's files and returns its single layer.
func buildLayer(spec Spec) (v1.Layer, error) {
	entries, err := collect(spec)
	if err != nil {
		return nil, err
	}
	buf, err := writeTar(entries)
	if err != nil {
		return nil, err
	}
	return tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(buf)), nil
	})
}

// collect validates the spec and returns every entry of the layer,
// including the implied parent directories.
func collect(spec Spec) (map[string]entry, error) {
	entries := make(map[string]entry)
	add := func(p string, e entry) error {
		if err := checkPath(p); err != nil {
			return err
		}
		if _, dup := entries[p]; dup {
			return fmt.Errorf("add %q: duplicate path", p)
		}
		entries[p] = e
		return nil
	}
	for _, f := range spec.Files {
		e, err := fileEntry(f)
		if err != nil {
			return nil, err
		}
		if err := add(f.Path, e); err != nil {
			return nil, err
		}
	}
	for link, target := range spec.Symlinks {
		if target == "" {
			return nil, fmt.Errorf("add symlink %q: empty target", link)
		}
		if err := add(link, entry{typeflag: tar.TypeSymlink, mode: 0o777, link: target}); err != nil {
			return nil, err
		}
	}
	for p := range entries {
		for dir := path.Dir(p); dir != "/"; dir = path.Dir(dir) {
			e, ok := entries[dir]
			if !ok {
				entries[dir] = entry{typeflag: tar.TypeDir, mode: 0o755}
				continue
			}
			if e.typeflag != tar.TypeDir {
				return nil, fmt.Errorf("add %q: parent %q is not a directory", p, dir)
			}
		}
	}
	return entries, nil
}

// checkPath accepts absolute, clean paths other than "/".
func checkPath(p string) error {
	switch {
	case !path.IsAbs(p):
		return fmt.Errorf("check path %q: not absolute", p)
	case path.Clean(p) != p:
		return fmt.Errorf("check path %q: not clean (want %q)", p, path.Clean(p))
	case p == "/":
		return errors.New(`check path "/": the root cannot be a file or symlink`)
	}
	return nil
}

// fileEntry reads f's contents and works out its mode.
func fileEntry(f File) (entry, error) {
	if f.Mode.Type() != 0 {
		return entry{}, fmt.Errorf("add file %q: mode %v is not a regular file mode", f.Path, f.Mode)
	}
	e := entry{typeflag: tar.TypeReg, mode: tarMode(f.Mode), data: f.Data}
	if f.Source == "" {
		if f.Mode == 0 {
			e.mode = 0o644
		}
		return e, nil
	}
	if f.Data != nil {
		return entry{}, fmt.Errorf("add file %q: both Source and Data are set", f.Path)
	}
	fi, err := os.Stat(f.Source)
	if err != nil {
		return entry{}, fmt.Errorf("add file %q: %w", f.Path, err)
	}
	if !fi.Mode().IsRegular() {
		return entry{}, fmt.Errorf("add file %q: source %q is not a regular file", f.Path, f.Source)
	}
	if f.Mode == 0 {
		e.mode = tarMode(fi.Mode())
	}
	if e.data, err = os.ReadFile(f.Source); err != nil {
		return entry{}, fmt.Errorf("add file %q: %w", f.Path, err)
	}
	return e, nil
}

// tarMode converts the permission and special bits of m to tar's encoding.
func tarMode(m os.FileMode) int64 {
	mode := int64(m.Perm())
	if m&os.ModeSetuid != 0 {
		mode |= 0o4000
	}
	if m&os.ModeSetgid != 0 {
		mode |= 0o2000
	}
	if m&os.ModeSticky != 0 {
		mode |= 0o1000
	}
	return mode
}

// writeTar writes entries in path order with fixed owners and timestamps.
func writeTar(entries map[string]entry) ([]byte, error) {
	paths := make([]string, 0, len(entries))
	for p := range entries {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, p := range paths {
		e := entries[p]
		hdr := &tar.Header{
			Typeflag: e.typeflag,
			Name:     strings.TrimPrefix(p, "/"),
			Linkname: e.link,
			Mode:     e.mode,
			Size:     int64(len(e.data)),
			ModTime:  epoch(),
		}
		if e.typeflag == tar.TypeDir {
			hdr.Name += "/"
		}
		if err := tw.WriteHeader(hdr); err != nil {
			return nil, fmt.Errorf("write tar header %q: %w", p, err)
		}
		if _, err := tw.Write(e.data); err != nil {
			return nil, fmt.Errorf("write tar data %q: %w", p, err)
		}
	}
	if err := tw.Close(); err != nil {
		return nil, fmt.Errorf("close layer tar: %w", err)
	}
	return buf.Bytes(), nil
}
