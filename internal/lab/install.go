package lab

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strings"

	"switchboard/config"
	"switchboard/internal/components"
	"switchboard/internal/image"
)

// Images of Switchboard's own components, built from the project's binaries.
const (
	AgentImage    = "switchboard.local/switchboard-agent:dev"
	OperatorImage = "switchboard.local/switchboard-operator:dev"
	EdgeImage     = "switchboard.local/switchboard-edge:dev"
)

// EdgeImageSpec is the image of switchboard-edge (config/deploy/edge.yaml),
// built like the others from bin.
func EdgeImageSpec(bin string) image.Spec {
	return component("switchboard-edge").Image(bin, EdgeImage)
}

// component is the component called name; the names are the package's own.
func component(name string) components.Component {
	c, err := components.Get(name)
	if err != nil {
		panic(err)
	}
	return c
}

// componentImages are the archives Install builds and imports; the edge's
// only for a lab in inter-cluster mode.
func componentImages(bin string, interCluster bool) map[string]image.Spec {
	m := map[string]image.Spec{
		"switchboard-agent.tar":    component("switchboard-agent").Image(bin, AgentImage),
		"switchboard-operator.tar": component("switchboard-operator").Image(bin, OperatorImage),
	}
	if interCluster {
		m["switchboard-edge.tar"] = EdgeImageSpec(bin)
	}
	return m
}

// Install builds Switchboard's images from the binaries in cfg.ImageBin,
// imports them into every node, applies the project's manifests (config/)
// to every cluster and waits for the operator and the agents to be ready.
// A lab of two or more clusters is installed in inter-cluster mode: it
// also (re)starts the lab's IDCO and runs the edges (see intercluster.go).
// Running it again upgrades in place: new images, then a rollout restart.
func Install(ctx context.Context, cfg Config) error {
	cfg.setDefaults()
	l, err := reopen(cfg)
	if err != nil {
		return err
	}
	images := componentImages(cfg.ImageBin, l.interCluster())
	done := l.p.step("images: %s (from %s)", strings.Join(imageNames(images), ", "), cfg.ImageBin)
	err = l.writeImages(images)
	done(err)
	if err != nil {
		return err
	}
	done = l.p.step("API proxy for host tools: %s", hostKubeconfig(l.dir))
	err = l.startAPIProxy(ctx)
	done(err)
	if err != nil {
		return err
	}
	if l.interCluster() {
		done := l.p.step("IDCO %s on the WAN at %s (state in %s)", IDCOProvider, IDCOAddr, idcoPath(l.dir))
		err := l.installIDCO(ctx)
		done(err)
		if err != nil {
			return err
		}
	}
	for _, c := range l.topo.Clusters {
		done := l.p.step("%s: import images into %d nodes, apply config/ manifests, wait for the operator and agents", c.Name, len(c.Nodes))
		err := l.installCluster(ctx, c)
		done(err)
		if err != nil {
			return err
		}
	}
	return nil
}

func (l *lab) installCluster(ctx context.Context, c Cluster) error {
	for _, n := range c.Nodes {
		if err := l.importImages(ctx, n, "switchboard-*.tar"); err != nil {
			return err
		}
	}
	p := config.Params{ClusterCIDR: c.PodCIDR.String(), ServiceCIDR: c.ServiceCIDR.String(), BGP: l.state.snapshot().FRR, Primary: l.switchboardPrimary()}
	workloads := []string{"deployment/switchboard-operator", "daemonset/switchboard-agent"}
	if l.interCluster() {
		p.InterCluster = l.interClusterParams(c)
		workloads = append(workloads, "daemonset/switchboard-tunnel", "daemonset/switchboard-edge")
	}
	manifests, err := config.Manifests(p)
	if err != nil {
		return err
	}
	if p.InterCluster != nil {
		secret, err := l.idcoSecret(c)
		if err != nil {
			return err
		}
		manifests += "---\n" + string(secret)
	}
	if _, err := l.kubectlIn(ctx, c.Name, strings.NewReader(manifests), "apply", "-f", "-"); err != nil {
		return err
	}
	// Pick up rebuilt images with the same tag.
	for _, w := range workloads {
		if _, err := l.kubectl(ctx, c.Name, "rollout", "restart", "-n", "switchboard-system", w); err != nil {
			return err
		}
	}
	for _, w := range workloads {
		if _, err := l.kubectl(ctx, c.Name, "rollout", "status", "-n", "switchboard-system", w, "--timeout=120s"); err != nil {
			logs, _ := l.kubectl(ctx, c.Name, "logs", "-n", "switchboard-system", w, "--tail=20", "--all-containers")
			return fmt.Errorf("%w\nlast log lines of %s:\n%s", err, w, logs)
		}
	}
	if l.switchboardPrimary() { // CoreDNS could not start before the primary network
		return l.waitDNS(ctx, c)
	}
	return nil
}

// reopen loads a running lab for commands that act on it.
func reopen(cfg Config) (*lab, error) {
	st, err := loadState(cfg.Dir)
	if err != nil {
		return nil, fmt.Errorf("lab %q: %w", cfg.Name, err)
	}
	r := st.snapshot()
	if !r.Ready {
		return nil, fmt.Errorf("lab %q is not ready: run `switchboard lab down` and `lab up` again", cfg.Name)
	}
	topo, err := Plan(r.Name, r.Clusters, r.Nodes)
	if err != nil {
		return nil, err
	}
	l := &lab{cfg: cfg, topo: topo, dir: cfg.Dir, state: st, p: newProgress(cfg.Out)}
	l.cfg.Primary = r.Primary
	l.bin.k8sDir = filepath.Dir(r.Kubectl)
	return l, nil
}

// imageNames are the names of the images' binaries, sorted, for progress.
func imageNames(specs map[string]image.Spec) []string {
	names := make([]string, 0, len(specs))
	for f := range specs {
		names = append(names, strings.TrimSuffix(f, ".tar"))
	}
	slices.Sort(names)
	return names
}
