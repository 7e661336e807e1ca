// Package kube drives one cluster of a running lab through the lab's
// kubectl: apply manifests, wait for pods, exec in them and read their
// network status. The end-to-end tests and the demo use it.
package kube

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"time"

	"switchboard/internal/lab"
)

// Cluster is one lab cluster. It holds no state beyond the handle and is
// safe for concurrent use.
type Cluster struct {
	h    *lab.Handle
	Name string
}

// New returns the cluster named name ("a", "b", ...) of the lab.
func New(h *lab.Handle, name string) (*Cluster, error) {
	if _, err := h.Cluster(name); err != nil {
		return nil, err
	}
	return &Cluster{h: h, Name: name}, nil
}

// Kubectl runs kubectl with args and stdin and returns its stdout. The
// error carries kubectl's stderr.
func (c *Cluster) Kubectl(ctx context.Context, stdin string, args ...string) (string, error) {
	cmd, err := c.h.KubectlCmd(ctx, c.Name, args...)
	if err != nil {
		return "", err
	}
	if stdin != "" {
		cmd.Stdin = strings.NewReader(stdin)
	}
	var errb strings.Builder
	cmd.Stderr = &errb
	out, err := cmd.Output()
	if err != nil {
		return string(out), fmt.Errorf("kubectl %s (cluster %s): %s: %w", strings.Join(args, " "), c.Name, strings.TrimSpace(errb.String()), err)
	}
	return string(out), nil
}

// Apply applies a YAML manifest.
func (c *Cluster) Apply(ctx context.Context, manifest string) error {
	_, err := c.Kubectl(ctx, manifest, "apply", "-f", "-")
	return err
}

// Delete deletes what a manifest describes and waits for it to be gone;
// objects already gone are fine.
func (c *Cluster) Delete(ctx context.Context, manifest string) error {
	_, err := c.Kubectl(ctx, manifest, "delete", "--ignore-not-found", "--wait=true", "--timeout=60s", "-f", "-")
	return err
}

// WaitPodsReady waits until the pods matching selector in namespace are Ready.
func (c *Cluster) WaitPodsReady(ctx context.Context, namespace, selector string, timeout time.Duration) error {
	_, err := c.Kubectl(ctx, "", "wait", "-n", namespace, "--for=condition=Ready", "pod", "-l", selector,
		"--timeout="+timeout.String())
	if err != nil {
		desc, _ := c.Kubectl(ctx, "", "get", "events", "-n", namespace, "--sort-by=.lastTimestamp")
		return fmt.Errorf("%w\nevents in namespace %s:\n%s", err, namespace, desc)
	}
	return nil
}

// Exec runs argv in the pod's first container and returns its stdout and
// stderr together.
func (c *Cluster) Exec(ctx context.Context, namespace, pod string, argv ...string) (string, error) {
	cmd, err := c.h.KubectlCmd(ctx, c.Name, append([]string{"exec", "-n", namespace, pod, "--"}, argv...)...)
	if err != nil {
		return "", err
	}
	out, err := cmd.CombinedOutput()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return string(out), fmt.Errorf("%s in pod %s/%s exited %d: %s", strings.Join(argv, " "), namespace, pod, ee.ExitCode(), strings.TrimSpace(string(out)))
		}
		return string(out), fmt.Errorf("exec in pod %s/%s: %w", namespace, pod, err)
	}
	return string(out), nil
}

// PodIP returns the pod's primary IP.
func (c *Cluster) PodIP(ctx context.Context, namespace, pod string) (string, error) {
	out, err := c.Kubectl(ctx, "", "get", "pod", "-n", namespace, pod, "-o", "jsonpath={.status.podIP}")
	if err != nil {
		return "", err
	}
	if strings.TrimSpace(out) == "" {
		return "", fmt.Errorf("pod %s/%s has no IP yet", namespace, pod)
	}
	return strings.TrimSpace(out), nil
}

// NetworkStatus is one entry of the k8s.v1.cni.cncf.io/network-status
// annotation that Multus writes on a pod.
type NetworkStatus struct {
	Name      string   `json:"name"`
	Interface string   `json:"interface"`
	IPs       []string `json:"ips"`
	MAC       string   `json:"mac"`
	Default   bool     `json:"default"`
}

// NetworkStatus reads the pod's network-status annotation.
func (c *Cluster) NetworkStatus(ctx context.Context, namespace, pod string) ([]NetworkStatus, error) {
	out, err := c.Kubectl(ctx, "", "get", "pod", "-n", namespace, pod, "-o",
		`jsonpath={.metadata.annotations.k8s\.v1\.cni\.cncf\.io/network-status}`)
	if err != nil {
		return nil, err
	}
	var st []NetworkStatus
	if err := json.Unmarshal([]byte(out), &st); err != nil {
		return nil, fmt.Errorf("parse network-status of pod %s/%s (%q): %w", namespace, pod, out, err)
	}
	return st, nil
}
