//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"encoding/xml"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"switchboard/internal/lab/kube"
)

// kubectlPlugin runs the lab's kubectl as a user would, with PATH holding
// bin/ (where make build links kubectl-switchboard) and KUBECONFIG the
// lab's host kubeconfig (contexts a and b, current context a).
func kubectlPlugin(ctx context.Context, args ...string) (stdout, stderr string, err error) {
	kubectl := handle.KubectlPath()
	cmd := exec.CommandContext(ctx, kubectl, args...)
	cmd.Env = append(os.Environ(),
		"PATH="+labCfg.ImageBin+":"+filepath.Dir(kubectl)+":"+os.Getenv("PATH"),
		"KUBECONFIG="+handle.HostKubeconfig())
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err = cmd.Run()
	if err != nil {
		err = fmt.Errorf("kubectl %s: %w\n%s%s", strings.Join(args, " "), err, out.String(), errOut.String())
	}
	return out.String(), errOut.String(), err
}

// TestKubectlPlugin: through the real kubectl, `kubectl switchboard`
// creates a network in both clusters, lists it (current context, --context,
// -A) and draws its topology, with a pod on it in each cluster, as text and
// as SVG; its lab commands say they act on the local lab only.
func TestKubectlPlugin(t *testing.T) {
	ctx := testContext(t, 5*time.Minute)
	const ns, net = "plugin", "plugin-net"
	if _, err := os.Lstat(filepath.Join(labCfg.ImageBin, "kubectl-switchboard")); err != nil {
		t.Fatalf("%v: make build links bin/kubectl-switchboard", err)
	}
	out, _, err := kubectlPlugin(ctx, "plugin", "list", "--name-only")
	if err != nil || !strings.Contains(out, "kubectl-switchboard") {
		t.Fatalf("kubectl plugin list does not find kubectl-switchboard: %v\n%s", err, out)
	}

	clusters := map[string]*kube.Cluster{"a": cluster(t, "a"), "b": cluster(t, "b")}
	for name, k := range clusters {
		t.Cleanup(func() {
			ctx := testContext(t, 2*time.Minute)
			_, _ = k.Kubectl(ctx, "", "delete", "pods", "-n", ns, "--all", "--wait=true", "--timeout=60s")
			_, _ = k.Kubectl(ctx, "", "delete", "namespace", ns, "--wait=true", "--timeout=90s")
		})
		if err := k.Apply(ctx, fmt.Sprintf("apiVersion: v1\nkind: Namespace\nmetadata: {name: %s}\n", ns)); err != nil {
			t.Fatalf("cluster %s: %v", name, err)
		}
	}
	if _, _, err := kubectlPlugin(ctx, "switchboard", "network", "create", net, "--contexts", "a,b", "-n", ns, "--cidr", "10.77.0.0/24", "--wait", "60s"); err != nil {
		t.Fatal(err)
	}

	fields := func(s string) string { return strings.Join(strings.Fields(s), " ") }
	out, _, err = kubectlPlugin(ctx, "switchboard", "network", "list", "-n", ns)
	if err != nil || !strings.Contains(fields(out), "a "+ns+" "+net+" vnet True") || strings.Contains(out, "\nb ") {
		t.Errorf("network list (the current context, a, only): %v\n%s", err, out)
	}
	out, _, err = kubectlPlugin(ctx, "switchboard", "network", "list", "--context", "b", "-A")
	if err != nil || !strings.Contains(fields(out), "b "+ns+" "+net+" vnet True") {
		t.Errorf("network list --context b -A: %v\n%s", err, out)
	}

	// A pod on the network in each cluster, on its second node.
	for _, c := range handle.Clusters[:2] {
		k := clusters[c.Name]
		manifest := kube.TestboxPods(ns, c.Nodes[1:2], "k8s.v1.cni.cncf.io/networks: "+net)
		if err := k.Apply(ctx, manifest); err != nil {
			t.Fatal(err)
		}
		if err := k.WaitPodsReady(ctx, ns, "app=testbox", 2*time.Minute); err != nil {
			t.Fatal(err)
		}
	}
	out, _, err = kubectlPlugin(ctx, "switchboard", "network", "topology", net, "--contexts", "a,b", "-n", ns)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("kubectl switchboard network topology %s --contexts a,b -n %s:\n%s", net, ns, out)
	for _, c := range handle.Clusters[:2] {
		ip := netIP(t, ctx, clusters[c.Name], ns, "pod1", "net1")
		for _, want := range []string{
			fmt.Sprintf("cluster %s (namespace %s): vnet, Ready True", c.Name, ns),
			"node " + c.Nodes[0].Name + " ",
			"node " + c.Nodes[1].Name + " ",
			"pod " + ns + "/pod1: net1 " + ip,
		} {
			if !strings.Contains(out, want) {
				t.Errorf("topology lacks %q", want)
			}
		}
	}
	svg, _, err := kubectlPlugin(ctx, "switchboard", "network", "topology", net, "--contexts", "a,b", "-n", ns, "-o", "svg")
	if err != nil {
		t.Fatal(err)
	}
	dec := xml.NewDecoder(strings.NewReader(svg))
	for {
		if _, err := dec.Token(); err == io.EOF {
			break
		} else if err != nil {
			t.Fatalf("the SVG is not well-formed: %v\n%s", err, svg)
		}
	}
	if n := strings.Count(svg, "pod "+ns+"/pod1"); n != 2 {
		t.Errorf("the SVG names pod1 %d times, want once per cluster", n)
	}

	_, stderr, _ := kubectlPlugin(ctx, "switchboard", "lab", "status", "--name", handle.Name)
	if !strings.Contains(stderr, `"kubectl switchboard lab status" acts on the local lab`) {
		t.Errorf("kubectl switchboard lab status does not say it is lab-only: %q", stderr)
	}
}
