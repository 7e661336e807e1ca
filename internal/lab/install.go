package lab

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"

	"switchboard/config"
	"switchboard/internal/image"
)

// Images of Switchboard's own components, built from the project's binaries.
const (
	AgentImage    = "switchboard.local/switchboard-agent:dev"
	OperatorImage = "switchboard.local/switchboard-operator:dev"
	EdgeImage     = "switchboard.local/switchboard-edge:dev"
)

// EdgeImageSpec is the image of switchboard-edge (config/deploy/edge.yaml),
// built like the others from bin. Install does not build or install it yet:
// the edge needs each cluster's IDCO certificates and provider addresses.
func EdgeImageSpec(bin string) image.Spec {
	return image.Spec{
		Ref:        EdgeImage,
		Files:      []image.File{{Path: "/usr/local/bin/switchboard-edge", Source: filepath.Join(bin, "switchboard-edge"), Mode: 0o755}},
		Entrypoint: []string{"/usr/local/bin/switchboard-edge"},
	}
}

// componentImages are the archives Install builds and imports.
func componentImages(bin string) map[string]image.Spec {
	return map[string]image.Spec{
		"switchboard-agent.tar": {
			Ref: AgentImage,
			Files: []image.File{
				{Path: "/usr/local/bin/switchboard-agent", Source: filepath.Join(bin, "switchboard-agent"), Mode: 0o755},
				{Path: "/usr/local/bin/switchboard-cni", Source: filepath.Join(bin, "switchboard-cni"), Mode: 0o755},
			},
			Entrypoint: []string{"/usr/local/bin/switchboard-agent"},
		},
		"switchboard-operator.tar": {
			Ref:        OperatorImage,
			Files:      []image.File{{Path: "/usr/local/bin/switchboard-operator", Source: filepath.Join(bin, "switchboard-operator"), Mode: 0o755}},
			Entrypoint: []string{"/usr/local/bin/switchboard-operator"},
		},
	}
}

// Install builds Switchboard's images from the binaries in cfg.ImageBin,
// imports them into every node, applies the project's manifests (config/)
// to every cluster and waits for the operator and the agents to be ready.
// Running it again upgrades in place: new images, then a rollout restart.
func Install(ctx context.Context, cfg Config) error {
	cfg.setDefaults()
	l, err := reopen(cfg)
	if err != nil {
		return err
	}
	done := l.p.step("images: switchboard-agent, switchboard-operator (from %s)", cfg.ImageBin)
	err = l.writeImages(componentImages(cfg.ImageBin))
	done(err)
	if err != nil {
		return err
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
	manifests, err := config.Manifests(config.Params{ClusterCIDR: c.PodCIDR.String(), ServiceCIDR: c.ServiceCIDR.String()})
	if err != nil {
		return err
	}
	if _, err := l.kubectlIn(ctx, c.Name, strings.NewReader(manifests), "apply", "-f", "-"); err != nil {
		return err
	}
	// Pick up rebuilt images with the same tag.
	for _, w := range []string{"deployment/switchboard-operator", "daemonset/switchboard-agent"} {
		if _, err := l.kubectl(ctx, c.Name, "rollout", "restart", "-n", "switchboard-system", w); err != nil {
			return err
		}
	}
	for _, w := range []string{"deployment/switchboard-operator", "daemonset/switchboard-agent"} {
		if _, err := l.kubectl(ctx, c.Name, "rollout", "status", "-n", "switchboard-system", w, "--timeout=120s"); err != nil {
			logs, _ := l.kubectl(ctx, c.Name, "logs", "-n", "switchboard-system", w, "--tail=20", "--all-containers")
			return fmt.Errorf("%w\nlast log lines of %s:\n%s", err, w, logs)
		}
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
	l.bin.k8sDir = filepath.Dir(r.Kubectl)
	return l, nil
}
