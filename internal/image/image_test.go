package image

import (
	"archive/tar"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// tarEntry is what the tests compare for each member of the layer.
type tarEntry struct {
	Type byte
	Mode int64
	Link string
	Data string
}

func testSpec(t *testing.T) Spec {
	t.Helper()
	src := filepath.Join(t.TempDir(), "tool")
	if err := os.WriteFile(src, []byte("#!/bin/sh\necho hi\n"), 0o750); err != nil {
		t.Fatal(err)
	}
	return Spec{
		Ref: "switchboard.local/testbox:v1",
		Files: []File{
			{Path: "/bin/tool", Source: src},
			{Path: "/etc/motd", Data: []byte("hello\n")},
			{Path: "/bin/suid", Data: []byte("x"), Mode: 0o755 | os.ModeSetuid},
		},
		Symlinks:   map[string]string{"/bin/sh": "tool", "/usr/local/bin/t": "/bin/tool"},
		Entrypoint: []string{"/bin/tool"},
		Cmd:        []string{"serve"},
		Env:        []string{"A=1"},
		WorkingDir: "/",
	}
}

func TestWriteFileRoundTrip(t *testing.T) {
	spec := testSpec(t)
	out := filepath.Join(t.TempDir(), "img.tar")
	if err := WriteFile(spec, out); err != nil {
		t.Fatalf("WriteFile: %v", err)
	}
	tag, err := name.NewTag(spec.Ref)
	if err != nil {
		t.Fatal(err)
	}
	img, err := tarball.ImageFromPath(out, &tag)
	if err != nil {
		t.Fatalf("read back by tag: %v", err)
	}
	manifest, err := tarball.LoadManifest(func() (io.ReadCloser, error) { return os.Open(out) })
	if err != nil {
		t.Fatal(err)
	}
	if len(manifest) != 1 || !reflect.DeepEqual(manifest[0].RepoTags, []string{spec.Ref}) {
		t.Errorf("manifest.json = %+v, want one image tagged %q", manifest, spec.Ref)
	}
	checkConfig(t, img, spec)
	got := layerEntries(t, img)
	want := map[string]tarEntry{
		"bin/":            {Type: tar.TypeDir, Mode: 0o755},
		"bin/sh":          {Type: tar.TypeSymlink, Mode: 0o777, Link: "tool"},
		"bin/suid":        {Type: tar.TypeReg, Mode: 0o4755, Data: "x"},
		"bin/tool":        {Type: tar.TypeReg, Mode: 0o750, Data: "#!/bin/sh\necho hi\n"},
		"etc/":            {Type: tar.TypeDir, Mode: 0o755},
		"etc/motd":        {Type: tar.TypeReg, Mode: 0o644, Data: "hello\n"},
		"usr/":            {Type: tar.TypeDir, Mode: 0o755},
		"usr/local/":      {Type: tar.TypeDir, Mode: 0o755},
		"usr/local/bin/":  {Type: tar.TypeDir, Mode: 0o755},
		"usr/local/bin/t": {Type: tar.TypeSymlink, Mode: 0o777, Link: "/bin/tool"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("layer entries:\n got %v\nwant %v", got, want)
	}
}

func checkConfig(t *testing.T, img v1.Image, spec Spec) {
	t.Helper()
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	if cf.OS != "linux" || cf.Architecture != runtime.GOARCH {
		t.Errorf("platform = %s/%s, want linux/%s", cf.OS, cf.Architecture, runtime.GOARCH)
	}
	c := cf.Config
	if !reflect.DeepEqual(c.Entrypoint, spec.Entrypoint) || !reflect.DeepEqual(c.Cmd, spec.Cmd) ||
		!reflect.DeepEqual(c.Env, spec.Env) || c.WorkingDir != spec.WorkingDir {
		t.Errorf("config = %+v, want entrypoint %q cmd %q env %q workdir %q",
			c, spec.Entrypoint, spec.Cmd, spec.Env, spec.WorkingDir)
	}
	if len(cf.RootFS.DiffIDs) != 1 {
		t.Errorf("diff IDs = %v, want one layer", cf.RootFS.DiffIDs)
	}
}

// layerEntries reads the single layer of img, checking that entries are
// sorted and owned by root at the epoch.
func layerEntries(t *testing.T, img v1.Image) map[string]tarEntry {
	t.Helper()
	layers, err := img.Layers()
	if err != nil || len(layers) != 1 {
		t.Fatalf("layers = %d, %v; want exactly one", len(layers), err)
	}
	rc, err := layers[0].Uncompressed()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	entries := make(map[string]tarEntry)
	prev := ""
	for tr := tar.NewReader(rc); ; {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if hdr.Name < prev {
			t.Errorf("entry %q after %q: not sorted", hdr.Name, prev)
		}
		prev = hdr.Name
		if hdr.Uid != 0 || hdr.Gid != 0 || hdr.ModTime.Unix() != 0 {
			t.Errorf("entry %q: uid %d gid %d mtime %v, want 0 0 epoch", hdr.Name, hdr.Uid, hdr.Gid, hdr.ModTime)
		}
		data, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		entries[hdr.Name] = tarEntry{Type: hdr.Typeflag, Mode: hdr.Mode, Link: hdr.Linkname, Data: string(data)}
	}
	return entries
}

func TestBuildIsDeterministic(t *testing.T) {
	spec := testSpec(t)
	digest := func() v1.Hash {
		_, img, err := Build(spec)
		if err != nil {
			t.Fatal(err)
		}
		h, err := img.Digest()
		if err != nil {
			t.Fatal(err)
		}
		return h
	}
	if a, b := digest(), digest(); a != b {
		t.Errorf("two builds of one spec differ: %v and %v", a, b)
	}
}

func TestWriteErrors(t *testing.T) {
	dir := t.TempDir()
	missing := filepath.Join(dir, "missing")
	tests := []struct {
		name string
		spec Spec
		want string // substring of the error
		is   error
	}{
		{name: "bad ref", spec: Spec{Ref: "Bad Ref!"}, want: `"Bad Ref!"`},
		{name: "ref without tag", spec: Spec{Ref: "switchboard.local/testbox"}, want: `"switchboard.local/testbox"`},
		{name: "relative path", spec: Spec{Ref: "x.local/box:v1", Files: []File{{Path: "bin/sh"}}}, want: `"bin/sh": not absolute`},
		{name: "unclean path", spec: Spec{Ref: "x.local/box:v1", Files: []File{{Path: "/bin//sh"}}}, want: `"/bin//sh": not clean`},
		{name: "root", spec: Spec{Ref: "x.local/box:v1", Symlinks: map[string]string{"/": "x"}}, want: `"/"`},
		{name: "missing source", spec: Spec{Ref: "x.local/box:v1", Files: []File{{Path: "/a", Source: missing}}}, want: missing, is: fs.ErrNotExist},
		{name: "source is dir", spec: Spec{Ref: "x.local/box:v1", Files: []File{{Path: "/a", Source: dir}}}, want: "not a regular file"},
		{name: "source and data", spec: Spec{Ref: "x.local/box:v1", Files: []File{{Path: "/a", Source: dir, Data: []byte{}}}}, want: "both Source and Data"},
		{name: "dir mode", spec: Spec{Ref: "x.local/box:v1", Files: []File{{Path: "/a", Mode: os.ModeDir | 0o755}}}, want: `"/a": mode`},
		{name: "duplicate", spec: Spec{Ref: "x.local/box:v1", Files: []File{{Path: "/a"}}, Symlinks: map[string]string{"/a": "b"}}, want: `"/a": duplicate path`},
		{name: "file as parent", spec: Spec{Ref: "x.local/box:v1", Files: []File{{Path: "/a"}, {Path: "/a/b"}}}, want: `parent "/a" is not a directory`},
		{name: "empty link target", spec: Spec{Ref: "x.local/box:v1", Symlinks: map[string]string{"/l": ""}}, want: `symlink "/l": empty target`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Write(tt.spec, io.Discard)
			if err == nil {
				t.Fatal("Write succeeded, want an error")
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not mention %q", err, tt.want)
			}
			if tt.is != nil && !errors.Is(err, tt.is) {
				t.Errorf("error %q is not %v", err, tt.is)
			}
		})
	}
}

func TestWriteFileFailureLeavesNothing(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "img.tar")
	if err := WriteFile(Spec{Ref: "bad ref"}, out); err == nil {
		t.Fatal("WriteFile succeeded, want an error")
	}
	if names, _ := os.ReadDir(dir); len(names) != 0 {
		t.Errorf("directory holds %v after a failed write, want nothing", names)
	}
	err := WriteFile(Spec{Ref: "x.local/box:v1"}, filepath.Join(dir, "no", "such", "dir.tar"))
	if err == nil || !strings.Contains(err.Error(), "dir.tar") {
		t.Errorf("WriteFile into a missing directory: %v, want an error naming the file", err)
	}
}
