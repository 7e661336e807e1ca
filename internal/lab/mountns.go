package lab

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
)

// nodeMounts are the host paths that the kubelet, containerd and the CNI
// plugins use at fixed locations; each node gets its own copy, bind-mounted
// over them inside the node's mount namespace.
var nodeMounts = []string{
	"/etc/cni",
	"/opt/cni",
	"/var/lib/cni",
	"/var/lib/kubelet",
	"/var/lib/containerd",
	"/var/lib/switchboard-edge", // the edge's WireGuard key: one per node
	"/var/log/pods",
	"/var/log/containers",
}

// mntDir holds the bind-mounted mount-namespace files. It is itself a
// private bind mount, as a namespace file may not live on a shared mount.
func (l *lab) mntDir() string { return filepath.Join(l.dir, "mnt") }

func (l *lab) prepareMountDir() error {
	dir := l.mntDir()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	if err := syscall.Mount(dir, dir, "", syscall.MS_BIND, ""); err != nil {
		return fmt.Errorf("bind mount %s: %w", dir, err)
	}
	if err := l.state.update(func(r *record) { r.Mounts = append(r.Mounts, dir) }); err != nil {
		return err
	}
	if err := syscall.Mount("", dir, "", syscall.MS_PRIVATE, ""); err != nil {
		return fmt.Errorf("make %s private: %w", dir, err)
	}
	// Mount points must exist on the host for the node namespaces to bind over them.
	for _, p := range nodeMounts {
		if _, err := os.Stat(p); err == nil {
			continue
		}
		created, err := mkdirAllCreated(p)
		if err != nil {
			return fmt.Errorf("create mount point %s: %w", p, err)
		}
		if err := l.state.update(func(r *record) { r.Dirs = append(r.Dirs, created...) }); err != nil {
			return err
		}
	}
	return nil
}

// mkdirAllCreated is os.MkdirAll that returns the directories it created, outermost first.
func mkdirAllCreated(p string) ([]string, error) {
	var missing []string
	for d := p; d != "/"; d = filepath.Dir(d) {
		if _, err := os.Stat(d); err == nil {
			break
		}
		missing = append([]string{d}, missing...)
	}
	for _, d := range missing {
		if err := os.Mkdir(d, 0o755); err != nil && !errors.Is(err, os.ErrExist) {
			return nil, err
		}
	}
	return missing, nil
}

// nodeMountNS makes the node's persistent mount namespace: a private copy
// of the host's mounts in which /run is a fresh tmpfs and each of nodeMounts
// is the node's own directory. References to other namespaces (the netns
// files and the other nodes' mount namespaces) are dropped from the copy, so
// that deleting them on the host really frees them.
func (l *lab) nodeMountNS(n Node) (string, error) {
	file := filepath.Join(l.mntDir(), n.Name)
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		return "", err
	}
	var b strings.Builder
	b.WriteString("set -e\n")
	fmt.Fprintf(&b, "umount -R -l %s 2>/dev/null || true\n", l.mntDir())
	b.WriteString("umount -R -l /run/netns 2>/dev/null || true\n")
	b.WriteString("mount -t tmpfs -o mode=0755 tmpfs /run\n")
	for _, p := range nodeMounts {
		src := l.nodePath(n, strings.ReplaceAll(strings.TrimPrefix(p, "/"), "/", "-"))
		if err := os.MkdirAll(src, 0o755); err != nil {
			return "", err
		}
		fmt.Fprintf(&b, "mount --bind %s %s\n", src, p)
	}
	// Shared inside the node (a peer group of its own, nothing reaches the
	// host): pods that mount /var/run/netns with HostToContainer propagation,
	// like the switchboard agent, then see namespaces made after they start.
	b.WriteString("mount --make-rshared /\n")
	cmd := exec.Command("unshare", "--mount="+file, "--propagation", "private", "--", "/bin/sh", "-c", b.String())
	out, err := cmd.CombinedOutput()
	if err != nil {
		_ = os.Remove(file)
		return "", fmt.Errorf("create mount namespace of node %s: %s: %w", n.Name, strings.TrimSpace(string(out)), err)
	}
	if err := l.state.update(func(r *record) { r.MountNS = append(r.MountNS, file) }); err != nil {
		return "", err
	}
	return file, nil
}

// unmount detaches a mount point; one that is not mounted is fine.
func unmount(p string) error {
	err := syscall.Unmount(p, syscall.MNT_DETACH)
	if err == nil || errors.Is(err, syscall.EINVAL) || errors.Is(err, syscall.ENOENT) {
		return nil
	}
	return fmt.Errorf("unmount %s: %w", p, err)
}
