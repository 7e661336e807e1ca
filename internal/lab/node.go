package lab

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// daemonPath is the PATH of every lab daemon: runc, the containerd shim,
// iptables and conntrack live in the sbin directories.
const daemonPath = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

const containerdConfig = `version = 2
root = "/var/lib/containerd"
state = "/run/containerd"
disabled_plugins = [
  "io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs",
  "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper",
  "io.containerd.internal.v1.tracing", "io.containerd.tracing.processor.v1.otlp",
  # would create /opt/containerd on the host
  "io.containerd.internal.v1.opt",
]

[grpc]
  address = "/run/containerd/containerd.sock"

[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "%[1]s"
  # root here lacks CAP_SYS_RESOURCE: runc must not lower oom_score_adj.
  restrict_oom_score_adj = true
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/opt/cni/bin"
    conf_dir = "/etc/cni/net.d"
`

const kubeletConfig = `apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
authentication:
  anonymous: {enabled: false}
  webhook: {enabled: false}
  x509: {clientCAFile: %[1]s}
authorization: {mode: AlwaysAllow}
cgroupDriver: cgroupfs
cgroupRoot: /%[2]s
failCgroupV1: false
failSwapOn: false
containerRuntimeEndpoint: unix:///run/containerd/containerd.sock
resolvConf: %[3]s
clusterDNS: [%[4]s]
clusterDomain: %[5]s
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
# 1,000 pods at once on the 2 x 2 lab (BenchmarkAllocate1000Pods): 250 per
# node besides the node's own (agent, CoreDNS, operator, edge).
maxPods: 300
serializeImagePulls: false
# Many labs share one disk; only evict when it is really full.
evictionHard: {memory.available: "100Mi", nodefs.available: "1%%", imagefs.available: "1%%", nodefs.inodesFree: "1%%"}
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
`

const kubeProxyConfig = `apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
clientConnection: {kubeconfig: %[1]s}
mode: iptables
clusterCIDR: %[2]s
hostnameOverride: %[3]s
healthzBindAddress: 127.0.0.1:10256
metricsBindAddress: 127.0.0.1:10249
# Leave the host-wide conntrack table alone.
conntrack: {maxPerCore: 0, min: 0, tcpEstablishedTimeout: 0s, tcpCloseWaitTimeout: 0s}
`

// kubeletYAML is the kubelet configuration of node n: pods get the
// cluster DNS (the kube-dns ClusterIP) and the cluster domain.
func (l *lab) kubeletYAML(c Cluster, n Node) []byte {
	return fmt.Appendf(nil, kubeletConfig,
		l.clusterPath(c.Name, "pki", "ca.crt"), l.topo.Name+"/"+n.Name, l.nodePath(n, "resolv.conf"),
		c.DNSServiceIP(), ClusterDomain)
}

func (l *lab) writeNodeConfigs(c Cluster, n Node) error {
	files := map[string][]byte{
		"containerd.toml": fmt.Appendf(nil, containerdConfig, PauseImage),
		"kubelet.yaml":    l.kubeletYAML(c, n),
		"kube-proxy.yaml": fmt.Appendf(nil, kubeProxyConfig,
			l.clusterPath(c.Name, "kube-proxy.kubeconfig"), c.PodCIDR, n.Name),
		// The node's own resolver, for CoreDNS (dnsPolicy: Default) and host-network
		// pods: the lab is offline, so queries go to the control plane and fail fast.
		"resolv.conf": fmt.Appendf(nil, "nameserver %s\noptions timeout:1 attempts:1\n", c.APIIP),
	}
	if err := writeFiles(l.nodePath(n), files); err != nil {
		return err
	}
	bin := l.nodePath(n, "opt-cni", "bin")
	if err := os.MkdirAll(bin, 0o755); err != nil {
		return err
	}
	for _, src := range []string{
		filepath.Join(l.bin.cniDir, "bridge"), filepath.Join(l.bin.cniDir, "host-local"),
		filepath.Join(l.bin.cniDir, "loopback"), filepath.Join(l.bin.cniDir, "portmap"),
		l.bin.multus,
	} {
		if err := copyFile(src, filepath.Join(bin, filepath.Base(src)), 0o755); err != nil {
			return err
		}
	}
	return nil
}

// upNode starts the node's daemons and, once the controller-manager has
// given the node a pod CIDR, writes its CNI configuration.
func (l *lab) upNode(ctx context.Context, c Cluster, n Node) error {
	done := l.p.step("%s: containerd, images, kubelet, kube-proxy", n.Name)
	procs, err := l.startNode(ctx, c, n)
	done(err)
	if err != nil {
		return err
	}
	done = l.p.step("%s: pod CIDR and CNI configuration (Multus over bridge + host-local)", n.Name)
	var cidr string
	err = l.poll(ctx, 90*time.Second, "node "+n.Name+" registered with a pod CIDR", procs, func() (bool, error) {
		out, err := l.kubectl(ctx, c.Name, "get", "node", n.Name, "-o", "jsonpath={.spec.podCIDR}")
		cidr = strings.TrimSpace(string(out))
		return err == nil && cidr != "", nil
	})
	if err == nil {
		err = l.writeCNIConfig(c, n, cidr)
	}
	done(err)
	return err
}

func (l *lab) startNode(ctx context.Context, c Cluster, n Node) ([]*started, error) {
	mnt, err := l.nodeMountNS(n)
	if err != nil {
		return nil, err
	}
	cg := l.topo.Name + "/" + n.Name
	node := func(name string, argv ...string) daemon {
		return daemon{name: n.Name + "-" + name, cgroup: cg, netNS: n.NetNS, mntNS: mnt, argv: argv, env: []string{daemonPath}}
	}
	ctrd, err := l.start(node("containerd", "containerd", "--config", l.nodePath(n, "containerd.toml")))
	if err != nil {
		return nil, err
	}
	procs := []*started{ctrd}
	err = l.poll(ctx, 30*time.Second, "containerd of "+n.Name+" answering", procs, func() (bool, error) {
		return l.inNode(ctx, n, nil, "ctr", "--address", "/run/containerd/containerd.sock", "version") == nil, nil
	})
	if err != nil {
		return procs, err
	}
	if err := l.importImages(ctx, n, "lab-*.tar"); err != nil {
		return procs, err
	}
	labels := "lab.switchboard.dev/cluster=" + c.Name
	if n.Gateway {
		labels += ",lab.switchboard.dev/gateway=true"
	}
	for _, d := range []daemon{
		node("kubelet", l.bin.k8s("kubelet"),
			"--config="+l.nodePath(n, "kubelet.yaml"),
			"--kubeconfig="+l.clusterPath(c.Name, n.Name+".kubeconfig"),
			"--hostname-override="+n.Name, "--node-ip="+n.IP.String(), "--node-labels="+labels),
		node("kube-proxy", l.bin.k8s("kube-proxy"), "--config="+l.nodePath(n, "kube-proxy.yaml")),
	} {
		s, err := l.start(d)
		if err != nil {
			return procs, err
		}
		procs = append(procs, s)
	}
	return procs, nil
}

// inNode runs a command in the node's mount and network namespaces.
func (l *lab) inNode(ctx context.Context, n Node, stdout io.Writer, argv ...string) error {
	args := append([]string{"--mount=" + filepath.Join(l.mntDir(), n.Name), "--net=" + netnsPath(n.NetNS), "--"}, argv...)
	cmd := exec.CommandContext(ctx, "nsenter", args...)
	cmd.Env = append(os.Environ(), daemonPath)
	var errb strings.Builder
	cmd.Stdout, cmd.Stderr = stdout, &errb
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%s on %s: %s: %w", strings.Join(argv, " "), n.Name, strings.TrimSpace(errb.String()), err)
	}
	return nil
}

func copyFile(src, dst string, mode os.FileMode) error {
	b, err := os.ReadFile(src)
	if err != nil {
		return fmt.Errorf("copy %s: %w", src, err)
	}
	if err := os.WriteFile(dst+".tmp", b, mode); err != nil {
		return fmt.Errorf("copy %s: %w", src, err)
	}
	return os.Rename(dst+".tmp", dst)
}
