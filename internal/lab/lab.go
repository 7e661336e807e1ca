// Package lab runs real multi-node, multi-cluster Kubernetes on one Linux
// machine, with no container engine and no registry: per cluster a control
// plane (etcd, kube-apiserver, kube-controller-manager, kube-scheduler) in
// its own network namespace, and per node a network and a mount namespace
// with containerd, runc, the kubelet and kube-proxy. Pods get a primary
// network from the reference bridge and host-local plugins under real Multus,
// and resolve the cluster's names through CoreDNS as kube-dns (dns.go).
// Clusters are joined by a "WAN" link that only each cluster's gateway node
// reaches.
//
// Up records everything it makes in a state file as it goes; Down undoes
// exactly that, also after a failed Up. Nothing is found by name.
package lab

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"path/filepath"

	"golang.org/x/sync/errgroup"

	"switchboard/internal/lab/toolchain"
)

// DefaultName is the name of the lab that `make lab-up` and `make demo` use.
const DefaultName = "sblab"

// Config says which lab to make or act on.
type Config struct {
	Name     string // prefixes every namespace and cgroup of the lab
	Clusters int
	Nodes    int    // per cluster
	Dir      string // lab directory: state, configs, logs; default DefaultDir(Name)
	CacheDir string // built binaries; default toolchain's
	ImageBin string // directory holding the pause and netcheck binaries for the lab's images
	// FRR adds per cluster a router (FRR) on the node network and a client
	// namespace behind it, and runs the agents with --bgp (frr.go).
	FRR bool
	// Primary is the pods' primary network: "" or PrimaryBridge (the
	// reference bridge plugin, the default) or PrimarySwitchboard
	// (Switchboard itself, installed by Install; see primary.go).
	Primary string
	Out     io.Writer // progress output; nil discards
}

// DefaultDir is where a lab keeps its state, configuration and logs.
func DefaultDir(name string) string { return filepath.Join("/var/lib/switchboard/labs", name) }

func (c *Config) setDefaults() {
	if c.Name == "" {
		c.Name = DefaultName
	}
	if c.Dir == "" {
		c.Dir = DefaultDir(c.Name)
	}
}

type lab struct {
	cfg   Config
	topo  Topology
	dir   string
	state *State
	p     *progress
	bin   binaries
}

func (l *lab) logDir() string { return filepath.Join(l.dir, "logs") }

func (l *lab) clusterPath(c string, elem ...string) string {
	return filepath.Join(append([]string{l.dir, c}, elem...)...)
}

func (l *lab) nodePath(n Node, elem ...string) string {
	return filepath.Join(append([]string{l.dir, n.Cluster, n.Name}, elem...)...)
}

// Up makes the lab and waits until every node of every cluster is Ready.
// If a lab of the same name and shape is already up it says so and changes
// nothing. If any step fails, Up tears down what it made, keeps the logs,
// and returns an error naming the step and the log to read.
func Up(ctx context.Context, cfg Config) (err error) {
	cfg.setDefaults()
	topo, err := Plan(cfg.Name, cfg.Clusters, cfg.Nodes)
	if err != nil {
		return err
	}
	p := newProgress(cfg.Out)
	if st, err := loadState(cfg.Dir); err == nil {
		r := st.snapshot()
		if r.Ready && r.Clusters == cfg.Clusters && r.Nodes == cfg.Nodes {
			p.printf("lab %q is already up (%d clusters × %d nodes); nothing to do", cfg.Name, r.Clusters, r.Nodes)
			return nil
		}
		return fmt.Errorf("lab %q already exists (%d clusters × %d nodes, ready=%v) in %s: run `switchboard lab down --name %s` first",
			cfg.Name, r.Clusters, r.Nodes, r.Ready, cfg.Dir, cfg.Name)
	} else if !errors.Is(err, ErrNotUp) {
		return err
	}
	if err := os.RemoveAll(filepath.Join(cfg.Dir, "logs")); err != nil { // logs of an earlier failed run
		return err
	}
	if err := os.MkdirAll(filepath.Join(cfg.Dir, "logs"), 0o755); err != nil {
		return fmt.Errorf("create lab directory: %w", err)
	}
	if err := checkPrimary(cfg.Primary); err != nil {
		return err
	}
	st, err := newState(cfg.Dir, cfg.Name, cfg.Clusters, cfg.Nodes)
	if err != nil {
		return err
	}
	if err := st.update(func(r *record) { r.FRR, r.Primary = cfg.FRR, cfg.Primary }); err != nil {
		return err
	}
	l := &lab{cfg: cfg, topo: topo, dir: cfg.Dir, state: st, p: p}
	p.printf("lab %q: %d clusters × %d nodes; state, configs and logs in %s", cfg.Name, cfg.Clusters, cfg.Nodes, cfg.Dir)
	defer func() {
		if err == nil {
			return
		}
		p.printf("lab up failed; tearing down what was made (logs are kept in %s)", l.logDir())
		if derr := teardown(context.WithoutCancel(ctx), l.dir, st, p, true); derr != nil {
			err = errors.Join(err, fmt.Errorf("tear down after failure: %w", derr))
		}
	}()
	if err := l.up(ctx); err != nil {
		return err
	}
	if err := st.update(func(r *record) { r.Ready = true }); err != nil {
		return err
	}
	p.printf("lab %q is up: try `switchboard lab kubectl a -- get nodes -o wide`", cfg.Name)
	return nil
}

func (l *lab) up(ctx context.Context) error {
	if err := l.prepareHost(ctx); err != nil {
		return err
	}
	done := l.p.step("networks: %d namespaces, node links and the WAN", len(l.topo.NetNSes()))
	err := l.makeNetworks()
	done(err)
	if err != nil {
		return err
	}
	if l.cfg.FRR {
		done := l.p.step("fabric: an FRR router and a client per cluster")
		err := l.upFabric()
		done(err)
		if err != nil {
			return err
		}
	}
	done = l.p.step("certificates and configuration")
	err = l.writeConfigs()
	done(err)
	if err != nil {
		return err
	}
	g, gctx := errgroup.WithContext(ctx)
	for _, c := range l.topo.Clusters {
		g.Go(func() error { return l.upCluster(gctx, c) })
	}
	return g.Wait()
}

// prepareHost installs and builds what is missing, saves the host sysctls
// the kubelet changes, and creates the lab's cgroups and mount directory.
func (l *lab) prepareHost(ctx context.Context) error {
	bin, err := ensureBinaries(ctx, l.cfg.CacheDir, l.p)
	if err != nil {
		return err
	}
	l.bin = bin
	if err := l.state.update(func(r *record) { r.Kubectl = bin.k8s("kubectl") }); err != nil {
		return err
	}
	done := l.p.step("images: pause, testbox and coredns")
	err = l.buildImages()
	done(err)
	if err != nil {
		return err
	}
	saved, err := readSysctls(kubeletSysctls)
	if err != nil {
		return err
	}
	if err := l.state.update(func(r *record) { r.Sysctls = saved }); err != nil {
		return err
	}
	units := []string{l.topo.Name}
	for _, c := range l.topo.Clusters {
		units = append(units, l.topo.Name+"/"+c.Name+"-cp")
		for _, n := range c.Nodes {
			units = append(units, l.topo.Name+"/"+n.Name)
		}
	}
	if err := l.state.update(func(r *record) { r.Cgroups = []string{l.topo.Name} }); err != nil {
		return err
	}
	for _, u := range units {
		if err := createCgroup(u); err != nil {
			return err
		}
	}
	return l.prepareMountDir()
}

func (l *lab) makeNetworks() error {
	for _, n := range l.topo.NetNSes() {
		if err := l.addNetNS(n); err != nil {
			return err
		}
	}
	if err := addBridge(l.topo.WANNetNS, "br0", netip.Prefix{}); err != nil {
		return err
	}
	for _, c := range l.topo.Clusters {
		if err := addBridge(c.NetNS, "br0", netip.PrefixFrom(c.APIIP, c.NodeNet.Bits())); err != nil {
			return err
		}
		for j, n := range c.Nodes {
			node := link{netNS: n.NetNS, name: "eth0", addr: netip.PrefixFrom(n.IP, c.NodeNet.Bits())}
			if err := addVeth(node, link{netNS: c.NetNS, name: fmt.Sprintf("node%d", j+1), master: "br0"}); err != nil {
				return err
			}
			if err := addRoute(n.NetNS, netip.Prefix{}, c.APIIP); err != nil {
				return err
			}
			if err := setSysctl(n.NetNS, "net/ipv4/ip_forward", "1"); err != nil {
				return err
			}
			if n.Gateway {
				wan := link{netNS: n.NetNS, name: "wan0", addr: netip.PrefixFrom(n.WANIP, WANPrefix.Bits())}
				if err := addVeth(wan, link{netNS: l.topo.WANNetNS, name: "cluster-" + c.Name, master: "br0"}); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// upCluster starts the control plane and the nodes at once (the kubelets
// retry until the API server answers), then routes the pod CIDRs and waits
// for every node to be Ready.
func (l *lab) upCluster(ctx context.Context, c Cluster) error {
	storage, controllers := l.controlPlane(c)
	cp, err := l.startAll(storage)
	if err != nil {
		return err
	}
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error {
		done := l.p.step("%s: control plane (etcd, kube-apiserver, kube-controller-manager, kube-scheduler)", c.Name)
		err := l.waitAPIServer(gctx, c, cp)
		if err == nil {
			_, err = l.startAll(controllers)
		}
		done(err)
		if err != nil {
			return err
		}
		done = l.p.step("%s: add-ons (NetworkAttachmentDefinition CRD, Multus RBAC, CoreDNS as kube-dns)", c.Name)
		err = l.applyAddons(gctx, c)
		done(err)
		return err
	})
	for _, n := range c.Nodes {
		g.Go(func() error { return l.upNode(gctx, c, n) })
	}
	if err := g.Wait(); err != nil {
		return err
	}
	done := l.p.step("%s: pod routes between nodes, nodes Ready", c.Name)
	err = l.routePodCIDRs(ctx, c)
	if err == nil {
		err = l.waitNodesReady(ctx, c)
	}
	done(err)
	if err != nil {
		return err
	}
	if l.switchboardPrimary() {
		l.p.printf("%s: cluster DNS waits for the primary network: `lab install` starts Switchboard, then CoreDNS runs", c.Name)
		return nil
	}
	done = l.p.step("%s: cluster DNS: CoreDNS %s ready as kube-system/kube-dns at %s (%s)",
		c.Name, toolchain.CoreDNSVersion, c.DNSServiceIP(), ClusterDomain)
	err = l.waitDNS(ctx, c)
	done(err)
	return err
}
