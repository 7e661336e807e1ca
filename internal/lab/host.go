package lab

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"switchboard/internal/lab/toolchain"
)

// binaries are the lab's programs: Kubernetes and etcd built from the Go
// module proxy, Multus and CoreDNS likewise, and the reference CNI plugins
// from Debian.
type binaries struct {
	k8sDir  string
	etcd    string
	multus  string
	coredns string
	cniDir  string
}

func (b binaries) k8s(name string) string { return filepath.Join(b.k8sDir, name) }

// referenceCNIDir is where Debian's containernetworking-plugins puts the plugins.
const referenceCNIDir = "/usr/lib/cni"

func ensureBinaries(ctx context.Context, cacheDir string, p *progress) (binaries, error) {
	done := p.step("host packages: %s", strings.Join(toolchain.LabPackages(), ", "))
	err := toolchain.EnsurePackages(ctx, p.writer(), toolchain.LabPackages()...)
	done(err)
	if err != nil {
		return binaries{}, err
	}
	var b binaries
	for _, want := range []struct {
		build toolchain.Build
		dst   *string
		note  string
	}{
		{toolchain.Kubernetes(), &b.k8sDir, "the first build takes about 5 minutes on 2 cores"},
		{toolchain.Etcd(), &b.etcd, "about 30 s the first time"},
		{toolchain.Multus(), &b.multus, "about 1 minute the first time"},
		{toolchain.CoreDNS(), &b.coredns, "about 2 minutes the first time"},
	} {
		done := p.step("binaries: %s %s (cached after the first build; %s)", want.build.Name, want.build.Version, want.note)
		dir, err := want.build.Ensure(ctx, cacheDir, p.writer())
		done(err)
		if err != nil {
			return binaries{}, err
		}
		*want.dst = dir
	}
	b.etcd = filepath.Join(b.etcd, "etcd")
	b.multus = filepath.Join(b.multus, "multus")
	b.coredns = filepath.Join(b.coredns, "coredns")
	b.cniDir = referenceCNIDir
	return b, nil
}

// kubeletSysctls are host-wide settings the kubelet changes at start;
// Up saves them and Down puts them back.
var kubeletSysctls = []string{
	"vm/overcommit_memory",
	"vm/panic_on_oom",
	"kernel/panic",
	"kernel/panic_on_oops",
	"kernel/keys/root_maxkeys",
	"kernel/keys/root_maxbytes",
}

func readSysctls(keys []string) (map[string]string, error) {
	out := map[string]string{}
	for _, k := range keys {
		b, err := os.ReadFile(filepath.Join("/proc/sys", k))
		if err != nil {
			return nil, fmt.Errorf("read sysctl %s: %w", k, err)
		}
		out[k] = strings.TrimSpace(string(b))
	}
	return out, nil
}

func writeSysctls(vals map[string]string) error {
	for k, v := range vals {
		if err := os.WriteFile(filepath.Join("/proc/sys", k), []byte(v), 0o644); err != nil {
			return fmt.Errorf("restore sysctl %s=%s: %w", k, v, err)
		}
	}
	return nil
}

// Prepare installs the lab's Debian packages and builds or finds its
// binaries, without starting anything. Up does the same first.
func Prepare(ctx context.Context, cfg Config) error {
	_, err := ensureBinaries(ctx, cfg.CacheDir, newProgress(cfg.Out))
	return err
}
