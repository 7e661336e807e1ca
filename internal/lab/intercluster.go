package lab

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/vishvananda/netlink"
	"sigs.k8s.io/yaml"

	"switchboard/config"
)

// A lab of two or more clusters is installed in inter-cluster mode: one
// IDCO, the provider of every ext-vnet network, runs in the WAN namespace
// at IDCOAddr, where each cluster reaches it through its gateway node; the
// operators run with --inter-cluster and switchboard-edge runs on the
// gateway nodes. The IDCO's CA, database and client certificates live in
// the lab directory's idco/, so that a restart keeps its state.

// IDCOProvider is the provider name of the lab's IDCO, for the Networks'
// spec.provider.name; its domain is IDCOAddr.
const IDCOProvider = "lab-idco"

// IDCOAddr is where the lab's IDCO serves, on the WAN.
var IDCOAddr = netip.AddrPortFrom(WANPrefix.Addr().Next(), 8443)

// GatewayLabel marks each cluster's gateway node (the one on the WAN).
const GatewayLabel = "lab.switchboard.dev/gateway=true"

const idcoAdmin = "lab"

func (l *lab) interCluster() bool { return len(l.topo.Clusters) > 1 }

func idcoPath(dir string, elem ...string) string {
	return filepath.Join(append([]string{dir, "idco"}, elem...)...)
}

// interClusterParams are the manifests' inter-cluster settings for c.
func (l *lab) interClusterParams(c Cluster) *config.InterCluster {
	return &config.InterCluster{
		ClusterName:  c.Name,
		EdgeNode:     c.Nodes[0].Name,
		GatewayLabel: GatewayLabel,
		WANDevice:    "wan0",
		Providers:    []config.Provider{{Name: IDCOProvider, Address: IDCOAddr.String()}},
	}
}

// installIDCO copies the IDCO binary from cfg.ImageBin into the lab (so
// that a rebuilt bin/ does not change a running lab's IDCO under it) and
// (re)starts the IDCO on it, keeping its database.
func (l *lab) installIDCO(ctx context.Context) error {
	if err := os.MkdirAll(idcoPath(l.dir), 0o700); err != nil {
		return err
	}
	if err := copyFile(filepath.Join(l.cfg.ImageBin, "switchboard-idco"), idcoPath(l.dir, "switchboard-idco"), 0o755); err != nil {
		return err
	}
	return l.restartIDCO(ctx)
}

// restartIDCO stops the IDCO if it runs and starts it again.
func (l *lab) restartIDCO(ctx context.Context) error {
	if p, ok := l.idcoProc(); ok {
		stopRecorded(ctx, []Proc{p}, 5*time.Second)
	}
	return l.startIDCO(ctx)
}

// startIDCO makes the IDCO's CA and certificates (once), routes the WAN
// to and from every cluster, and starts the IDCO unless it runs already.
func (l *lab) startIDCO(ctx context.Context) error {
	bin := idcoPath(l.dir, "switchboard-idco")
	if _, err := os.Stat(idcoPath(l.dir, "ca.crt")); errors.Is(err, os.ErrNotExist) {
		runs := [][]string{{"init", "--dir", idcoPath(l.dir), "--host", IDCOAddr.Addr().String()},
			{"enrol", "--dir", idcoPath(l.dir), "--admin", idcoAdmin, "--out", idcoPath(l.dir, "admin")}}
		for _, c := range l.topo.Clusters {
			runs = append(runs, []string{"enrol", "--dir", idcoPath(l.dir), "--cluster", c.Name, "--out", idcoPath(l.dir, "clusters", c.Name)})
		}
		for _, args := range runs {
			if out, err := exec.CommandContext(ctx, bin, args...).CombinedOutput(); err != nil {
				return fmt.Errorf("switchboard-idco %s: %s: %w", strings.Join(args, " "), strings.TrimSpace(string(out)), err)
			}
		}
	}
	if err := l.routeWAN(); err != nil {
		return err
	}
	if p, ok := l.idcoProc(); ok && p.alive() {
		return nil
	}
	if err := createCgroup(l.topo.Name + "/idco"); err != nil {
		return err
	}
	s, err := l.start(daemon{name: "idco", cgroup: l.topo.Name + "/idco", netNS: l.topo.WANNetNS, argv: []string{
		bin, "serve", "--listen", IDCOAddr.String(), "--dir", idcoPath(l.dir),
	}})
	if err != nil {
		return err
	}
	h := &Handle{Topology: l.topo, Dir: l.dir}
	return l.poll(ctx, 30*time.Second, "the IDCO to answer on "+IDCOAddr.String(), []*started{s}, func() (bool, error) {
		cmd := h.IDCOAdminCmd(ctx, "audit", "--limit", "1")
		return cmd.Run() == nil, nil
	})
}

// idcoProc is the last IDCO the lab started.
func (l *lab) idcoProc() (Proc, bool) {
	procs := l.state.snapshot().Procs
	for i := len(procs) - 1; i >= 0; i-- {
		if procs[i].Name == "idco" {
			return procs[i], true
		}
	}
	return Proc{}, false
}

// routeWAN gives the WAN namespace IDCOAddr and routes between it and each
// cluster through the cluster's gateway node: the other nodes (and their
// pods) reach the IDCO, and only the IDCO, via the gateway, and the WAN
// namespace reaches the node and pod networks back the same way. It
// forwards nothing, so the clusters still reach each other only through
// the edges' tunnels.
func (l *lab) routeWAN() error {
	err := withNetNS(l.topo.WANNetNS, func(h *netlink.Handle) error {
		br, err := h.LinkByName("br0")
		if err != nil {
			return err
		}
		return h.AddrReplace(br, &netlink.Addr{IPNet: ipNet(netip.PrefixFrom(IDCOAddr.Addr(), WANPrefix.Bits()))})
	})
	if err != nil {
		return err
	}
	for _, c := range l.topo.Clusters {
		gw := c.Nodes[0]
		for _, dst := range []netip.Prefix{c.NodeNet, c.PodCIDR} {
			if err := addRoute(l.topo.WANNetNS, dst, gw.WANIP); err != nil {
				return err
			}
		}
		for _, n := range c.Nodes[1:] {
			if err := addRoute(n.NetNS, netip.PrefixFrom(IDCOAddr.Addr(), 32), gw.IP); err != nil {
				return err
			}
		}
	}
	return nil
}

// idcoSecret is the Secret (YAML) with cluster c's IDCO client certificate.
func (l *lab) idcoSecret(c Cluster) ([]byte, error) {
	data := map[string][]byte{}
	keys := config.CertKeys(IDCOProvider)
	for i, f := range []string{"ca.crt", "tls.crt", "tls.key"} {
		b, err := os.ReadFile(idcoPath(l.dir, "clusters", c.Name, f))
		if err != nil {
			return nil, err
		}
		data[keys[i]] = b
	}
	return yaml.Marshal(map[string]any{
		"apiVersion": "v1", "kind": "Secret",
		"metadata": map[string]any{"name": config.IDCOSecret, "namespace": "switchboard-system"},
		"data":     data,
	})
}

// RestartIDCO stops the lab's IDCO and starts it again on the same
// database, as an operator restarting the service would. during, if not
// nil, runs while the IDCO is down (a test's requests made in the outage);
// its error is returned after the IDCO is started again.
func RestartIDCO(ctx context.Context, cfg Config, during ...func() error) error {
	cfg.setDefaults()
	l, err := reopen(cfg)
	if err != nil {
		return err
	}
	p, ok := l.idcoProc()
	if !ok {
		return fmt.Errorf("lab %q runs no IDCO: it has one cluster, or `switchboard lab install` has not run", cfg.Name)
	}
	if len(during) == 0 {
		return l.restartIDCO(ctx)
	}
	stopRecorded(ctx, []Proc{p}, 5*time.Second)
	var errs []error
	for _, f := range during {
		errs = append(errs, f())
	}
	return errors.Join(append(errs, l.startIDCO(ctx))...)
}

// InWAN returns a command that runs name ARGS in the lab's WAN network
// namespace, where the IDCO serves (the portal's browser test runs the
// CLI and Chromium there).
func (h *Handle) InWAN(ctx context.Context, name string, args ...string) *exec.Cmd {
	return exec.CommandContext(ctx, "nsenter", append([]string{"--net=" + netnsPath(h.WANNetNS), "--", name}, args...)...)
}

// WANNetnsPath is the path of the WAN's network namespace.
func (h *Handle) WANNetnsPath() string { return netnsPath(h.WANNetNS) }

// IDCOCA is the lab IDCO's CA certificate, which clients of its HTTPS
// listener trust.
func (h *Handle) IDCOCA() string { return idcoPath(h.Dir, "admin", "ca.crt") }

// IDCOAdminCmd returns a command that runs `switchboard-idco admin ARGS`
// against the lab's IDCO with the lab's admin certificate, from the WAN.
func (h *Handle) IDCOAdminCmd(ctx context.Context, args ...string) *exec.Cmd {
	return h.InWAN(ctx, idcoPath(h.Dir, "switchboard-idco"), append([]string{"admin",
		"--server", "https://" + IDCOAddr.String(), "--certs", idcoPath(h.Dir, "admin")}, args...)...)
}
