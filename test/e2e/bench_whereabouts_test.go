//go:build e2e

package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"switchboard/internal/lab"
	"switchboard/internal/lab/kube"
	"switchboard/internal/lab/toolchain"
)

// attachmentsLeft counts the Attachments left in the benchmark's namespace.
func attachmentsLeft(ctx context.Context, k *kube.Cluster) (int, error) {
	out, err := k.Kubectl(ctx, "", "get", "attachments", "-n", sbNamespace, "-o", "name")
	if err != nil {
		return 0, err
	}
	return len(strings.Fields(out)), nil
}

// whereaboutsLeft counts the allocations left in Whereabouts's IPPools
// (kept in kube-system: the kubeconfig's context names no namespace).
func whereaboutsLeft(ctx context.Context, k *kube.Cluster) (int, error) {
	out, err := k.Kubectl(ctx, "", "get", "ippools.whereabouts.cni.cncf.io", "-n", "kube-system", "-o", "json")
	if err != nil {
		return 0, err
	}
	var list struct {
		Items []struct {
			Spec struct {
				Allocations map[string]json.RawMessage `json:"allocations"`
			} `json:"spec"`
		} `json:"items"`
	}
	if err := json.Unmarshal([]byte(out), &list); err != nil {
		return 0, fmt.Errorf("parse IPPools: %w", err)
	}
	n := 0
	for _, p := range list.Items {
		n += len(p.Spec.Allocations)
	}
	return n, nil
}

// whereaboutsCRDs returns the paths of Whereabouts's CRDs in its module
// source, which the build put in the Go module cache (the CRDs are read
// from there at run time, never copied into this repository).
func whereaboutsCRDs(ctx context.Context) ([]string, error) {
	spec := toolchain.Whereabouts()
	cmd := exec.CommandContext(ctx, "go", "mod", "download", "-json", spec.Module+"@"+spec.Version)
	cmd.Dir = os.TempDir() // outside any module: nothing of ours is touched
	cmd.Env = append(append(os.Environ(), "GOWORK=off", "GOFLAGS=-mod=mod"), spec.Env...)
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("go mod download %s@%s: %w", spec.Module, spec.Version, err)
	}
	var mod struct{ Dir, Error string }
	if err := json.Unmarshal(out, &mod); err != nil {
		return nil, fmt.Errorf("parse go mod download output: %w", err)
	}
	if mod.Error != "" || mod.Dir == "" {
		return nil, fmt.Errorf("go mod download %s@%s: %s", spec.Module, spec.Version, mod.Error)
	}
	crds, err := filepath.Glob(filepath.Join(mod.Dir, "doc", "crds", "whereabouts.cni.cncf.io_*.yaml"))
	if err != nil || len(crds) == 0 {
		return nil, fmt.Errorf("no CRDs in %s/doc/crds (%v)", mod.Dir, err)
	}
	return crds, nil
}

// setupWhereabouts makes cluster k (of nodes) able to run Whereabouts as an
// IPAM plugin: its binary in every node's /opt/cni/bin, a kubeconfig for it on
// every node with the flat configuration file that points to it, its
// CRDs, and namespace bench-wb with the NetworkAttachmentDefinition wbnet
// (reference bridge plugin, its own bridge wbbr0, Whereabouts IPAM on
// 10.88.0.0/16). It is idempotent.
func setupWhereabouts(ctx context.Context, k *kube.Cluster, nodes []lab.Node) error {
	dir, err := toolchain.Whereabouts().Ensure(ctx, "", os.Stdout)
	if err != nil {
		return err
	}
	for _, n := range nodes {
		if err := onNode(ctx, n.Name, "install", "-D", "-m", "0755", filepath.Join(dir, "whereabouts"), "/opt/cni/bin/whereabouts"); err != nil {
			return err
		}
		// The lab's admin kubeconfig, for a benchmark: a real install gives
		// Whereabouts a service account with its own ClusterRole. The
		// kubeconfig's context has no namespace, so IPPools go to kube-system.
		if err := onNode(ctx, n.Name, "install", "-D", "-m", "0600", handle.Kubeconfig(k.Name), wbKubeconfig); err != nil {
			return err
		}
	}
	// v0.9.2 fails every ADD with "config file not found" unless a flat
	// configuration file exists, as its daemonset install writes one.
	flat, err := os.CreateTemp("", "whereabouts-*.conf")
	if err != nil {
		return err
	}
	defer os.Remove(flat.Name())
	_, err = fmt.Fprintf(flat, `{"datastore":"kubernetes","kubernetes":{"kubeconfig":%q}}`+"\n", wbKubeconfig)
	if cerr := flat.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("write whereabouts flat file: %w", err)
	}
	for _, n := range nodes {
		if err := onNode(ctx, n.Name, "install", "-D", "-m", "0644", flat.Name(), wbFlatFile); err != nil {
			return err
		}
	}
	crds, err := whereaboutsCRDs(ctx)
	if err != nil {
		return err
	}
	var names []string
	for _, f := range crds {
		if _, err := k.Kubectl(ctx, "", "apply", "-f", f); err != nil {
			return err
		}
		names = append(names, "crd/"+strings.TrimSuffix(strings.TrimPrefix(filepath.Base(f), "whereabouts.cni.cncf.io_"), ".yaml")+".whereabouts.cni.cncf.io")
	}
	if _, err := k.Kubectl(ctx, "", append([]string{"wait", "--for=condition=Established", "--timeout=60s"}, names...)...); err != nil {
		return err
	}
	conf := fmt.Sprintf(`{"cniVersion":"0.3.1","name":"wbnet","type":"bridge","bridge":"wbbr0",`+
		`"ipam":{"type":"whereabouts","range":"10.88.0.0/16","kubernetes":{"kubeconfig":%q}}}`, wbKubeconfig)
	nad := fmt.Sprintf("apiVersion: k8s.cni.cncf.io/v1\nkind: NetworkAttachmentDefinition\nmetadata: {name: wbnet, namespace: %s}\nspec:\n  config: '%s'\n", wbNamespace, conf)
	return k.Apply(ctx, benchNamespace(wbNamespace)+"---\n"+nad)
}

// cleanupWhereabouts removes what setupWhereabouts made, in an order that
// lets Whereabouts's DEL run for any pod still there: pods first, then the
// CRDs, then the files on the nodes. Everything gone already is fine.
func cleanupWhereabouts(k *kube.Cluster, nodes []lab.Node) {
	ctx, cancel := context.WithTimeout(context.Background(), 6*time.Minute)
	defer cancel()
	if _, err := k.Kubectl(ctx, "", "delete", "namespace", wbNamespace, "--ignore-not-found", "--wait=true", "--timeout=4m"); err != nil {
		fmt.Println("cleanup whereabouts:", err)
	}
	if crds, err := whereaboutsCRDs(ctx); err == nil {
		for _, f := range crds {
			_, _ = k.Kubectl(ctx, "", "delete", "--ignore-not-found", "--wait=true", "--timeout=60s", "-f", f)
		}
	}
	for _, n := range nodes {
		if err := onNode(ctx, n.Name, "rm", "-rf", "/opt/cni/bin/whereabouts", filepath.Dir(wbKubeconfig)); err != nil {
			fmt.Println("cleanup whereabouts:", err)
		}
	}
}
