package lab

import (
	"context"
	"debug/elf"
	"fmt"
	"os"
	"path/filepath"

	"switchboard/internal/image"
)

// The lab's images, assembled from local files (there is no registry) and
// imported into every node's containerd. Pods use them with
// imagePullPolicy: Never.
const (
	PauseImage   = "switchboard.local/lab/pause:v1"
	TestboxImage = "switchboard.local/lab/testbox:v1"
)

// testboxApplets are the busybox-static commands linked into the testbox image.
var testboxApplets = []string{
	"sh", "ash", "ping", "ping6", "nc", "ip", "ifconfig", "route", "arp", "arping",
	"sleep", "cat", "echo", "ls", "hostname", "grep", "head", "tail", "wc", "timeout",
	"dd", "sed", "tr", "env", "ps", "kill", "true", "false", "date", "seq",
}

func (l *lab) imageDir() string { return filepath.Join(l.dir, "images") }

// buildImages writes the lab's image archives. The pause and netcheck
// binaries come from cfg.ImageBin (the directory of `make build`'s output),
// CoreDNS from the toolchain's cache.
func (l *lab) buildImages() error {
	bin := l.cfg.ImageBin
	links := map[string]string{}
	for _, a := range testboxApplets {
		links["/bin/"+a] = "busybox"
	}
	specs := map[string]image.Spec{
		"lab-pause.tar": {
			Ref:        PauseImage,
			Files:      []image.File{{Path: "/pause", Source: filepath.Join(bin, "pause"), Mode: 0o755}},
			Entrypoint: []string{"/pause"},
		},
		"lab-testbox.tar": {
			Ref: TestboxImage,
			Files: []image.File{
				{Path: "/bin/busybox", Source: "/bin/busybox", Mode: 0o755},
				{Path: "/usr/local/bin/netcheck", Source: filepath.Join(bin, "netcheck"), Mode: 0o755},
				{Path: "/etc/passwd", Data: []byte("root:x:0:0:root:/root:/bin/sh\n")},
				{Path: "/etc/group", Data: []byte("root:x:0:\n")},
			},
			Symlinks: links,
			Env:      []string{"PATH=/usr/local/bin:/bin"},
			Cmd:      []string{"/usr/local/bin/netcheck", "serve"},
		},
		"lab-coredns.tar": {
			Ref:        CoreDNSImage,
			Files:      []image.File{{Path: "/coredns", Source: l.bin.coredns, Mode: 0o755}},
			Entrypoint: []string{"/coredns"},
		},
	}
	return l.writeImages(specs)
}

// writeImages writes image archives into the lab's image directory.
func (l *lab) writeImages(specs map[string]image.Spec) error {
	if err := os.MkdirAll(l.imageDir(), 0o755); err != nil {
		return err
	}
	for file, spec := range specs {
		for _, f := range spec.Files { // the images hold no libc
			if f.Source != "" {
				if err := checkStatic(f.Source); err != nil {
					return err
				}
			}
		}
		if err := image.WriteFile(spec, filepath.Join(l.imageDir(), file)); err != nil {
			return fmt.Errorf("build image %s: %w", spec.Ref, err)
		}
	}
	return nil
}

// importImages loads the image archives matching pattern into the node's
// containerd, in the namespace the kubelet uses.
func (l *lab) importImages(ctx context.Context, n Node, pattern string) error {
	files, err := filepath.Glob(filepath.Join(l.imageDir(), pattern))
	if err != nil {
		return err
	}
	for _, f := range files {
		if err := l.inNode(ctx, n, nil, "ctr", "--address", "/run/containerd/containerd.sock",
			"-n", "k8s.io", "images", "import", f); err != nil {
			return fmt.Errorf("import image %s: %w", filepath.Base(f), err)
		}
	}
	return nil
}

// checkStatic makes sure an image binary exists and needs no dynamic
// loader: the images hold no libc.
func checkStatic(path string) error {
	f, err := elf.Open(path)
	if err != nil {
		return fmt.Errorf("image binary %s: %w (run `make build`, or pass --image-bin DIR)", path, err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			return fmt.Errorf("image binary %s is dynamically linked: build it with CGO_ENABLED=0 (`make build` does)", path)
		}
	}
	return nil
}
