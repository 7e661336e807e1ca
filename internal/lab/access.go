package lab

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// Handle gives access to a lab that is up: kubectl per cluster and commands
// on nodes. It reads the lab's state; it starts and stops nothing.
type Handle struct {
	Topology
	Dir     string
	kubectl string
}

// Open finds the lab named in cfg. It fails with ErrNotUp if there is none.
func Open(cfg Config) (*Handle, error) {
	cfg.setDefaults()
	st, err := loadState(cfg.Dir)
	if err != nil {
		if errors.Is(err, ErrNotUp) {
			return nil, fmt.Errorf("lab %q: %w (start it with `switchboard lab up` or `make lab-up`)", cfg.Name, err)
		}
		return nil, err
	}
	r := st.snapshot()
	topo, err := Plan(r.Name, r.Clusters, r.Nodes)
	if err != nil {
		return nil, err
	}
	return &Handle{Topology: topo, Dir: cfg.Dir, kubectl: r.Kubectl}, nil
}

// Kubeconfig is the path of the cluster's admin kubeconfig. Its server
// address is reachable only inside the cluster's control-plane namespace.
func (h *Handle) Kubeconfig(cluster string) string {
	return filepath.Join(h.Dir, cluster, "admin.kubeconfig")
}

// KubectlPath is the lab's kubectl binary (built from the pinned
// Kubernetes source), for tests that run it with a kubeconfig of their own.
func (h *Handle) KubectlPath() string { return h.kubectl }

// KubectlCmd returns a command that runs the lab's kubectl against the
// cluster, inside its control-plane network namespace.
func (h *Handle) KubectlCmd(ctx context.Context, cluster string, args ...string) (*exec.Cmd, error) {
	c, err := h.Cluster(cluster)
	if err != nil {
		return nil, err
	}
	return kubectlCmd(ctx, h.kubectl, c.NetNS, h.Kubeconfig(c.Name), args...), nil
}

// ExecCmd returns a command that runs argv on a node ("a/node1"), in the
// node's network and mount namespaces, as its daemons see the machine.
func (h *Handle) ExecCmd(ctx context.Context, node string, argv ...string) (*exec.Cmd, error) {
	n, err := h.Node(node)
	if err != nil {
		return nil, err
	}
	if len(argv) == 0 {
		return nil, errors.New("no command given: use `switchboard lab exec a/node1 -- CMD ARGS`")
	}
	args := append([]string{"--mount=" + filepath.Join(h.Dir, "mnt", n.Name), "--net=" + netnsPath(n.NetNS), "--"}, argv...)
	cmd := exec.CommandContext(ctx, "nsenter", args...)
	cmd.Env = append(os.Environ(), daemonPath)
	return cmd, nil
}

// Status writes what the lab is, where its files are, and each cluster's nodes.
func Status(ctx context.Context, cfg Config, w io.Writer) error {
	cfg.setDefaults()
	st, err := loadState(cfg.Dir)
	if errors.Is(err, ErrNotUp) {
		fmt.Fprintf(w, "lab %q: not up\n", cfg.Name)
		return nil
	}
	if err != nil {
		return err
	}
	r := st.snapshot()
	alive := 0
	for _, p := range r.Procs {
		if p.alive() {
			alive++
		}
	}
	state := "up"
	if !r.Ready {
		state = "not ready (lab up did not finish: run `switchboard lab down`)"
	}
	fmt.Fprintf(w, "lab %q: %s; %d clusters × %d nodes; %d/%d daemons running\n", r.Name, state, r.Clusters, r.Nodes, alive, len(r.Procs))
	fmt.Fprintf(w, "  directory: %s (logs in %s)\n", cfg.Dir, filepath.Join(cfg.Dir, "logs"))
	h, err := Open(cfg)
	if err != nil {
		return err
	}
	for _, c := range h.Clusters {
		fmt.Fprintf(w, "\ncluster %s: API %s (netns %s), pods %s, services %s, DNS %s (%s)\n",
			c.Name, c.APIServer(), c.NetNS, c.PodCIDR, c.ServiceCIDR, c.DNSServiceIP(), ClusterDomain)
		cmd, err := h.KubectlCmd(ctx, c.Name, "get", "nodes", "-o", "wide")
		if err != nil {
			return err
		}
		out, err := cmd.CombinedOutput()
		if err != nil {
			fmt.Fprintf(w, "  kubectl get nodes failed: %s\n", strings.TrimSpace(string(out)))
			continue
		}
		for _, line := range strings.Split(strings.TrimRight(string(out), "\n"), "\n") {
			fmt.Fprintf(w, "  %s\n", line)
		}
	}
	return nil
}
