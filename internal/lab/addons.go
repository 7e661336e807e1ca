package lab

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/netip"
	"os"
	"strings"
	"time"
)

// addonManifest is what every lab cluster gets before any pod: the
// NetworkAttachmentDefinition CRD (the Network Plumbing Working Group's
// de-facto standard API that Multus reads) and Multus's permissions.
const addonManifest = `apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: network-attachment-definitions.k8s.cni.cncf.io
spec:
  group: k8s.cni.cncf.io
  scope: Namespaced
  names:
    plural: network-attachment-definitions
    singular: network-attachment-definition
    kind: NetworkAttachmentDefinition
    shortNames: [net-attach-def]
  versions:
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema:
        description: A network that pods can attach to; spec.config is the CNI configuration.
        type: object
        properties:
          apiVersion: {type: string}
          kind: {type: string}
          metadata: {type: object}
          spec:
            type: object
            properties:
              config: {type: string, description: "CNI configuration in JSON"}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata:
  name: multus
rules:
- apiGroups: ["k8s.cni.cncf.io"]
  resources: ["*"]
  verbs: ["get", "list", "watch"]
- apiGroups: [""]
  resources: ["pods", "pods/status"]
  verbs: ["get", "list", "watch", "update", "patch"]
- apiGroups: ["", "events.k8s.io"]
  resources: ["events"]
  verbs: ["create", "patch", "update"]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata:
  name: multus
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: multus}
subjects:
- {apiGroup: rbac.authorization.k8s.io, kind: User, name: multus}
`

// applyAddons applies the add-ons; CoreDNS's pods start once the nodes
// are Ready (upCluster waits for them).
func (l *lab) applyAddons(ctx context.Context, c Cluster) error {
	_, err := l.kubectlIn(ctx, c.Name, strings.NewReader(addonManifest+"---\n"+DNSManifest(c)), "apply", "-f", "-")
	if err != nil {
		return err
	}
	_, err = l.kubectl(ctx, c.Name, "wait", "--for=condition=Established", "--timeout=30s",
		"crd/network-attachment-definitions.k8s.cni.cncf.io")
	return err
}

// cniVersion of the lab's primary network configuration.
const cniVersion = "1.0.0"

// writeCNIConfig writes the node's only CNI configuration: Multus as the
// meta plugin, delegating the primary network to bridge + host-local on the
// node's pod CIDR. The node turns Ready once it appears.
func (l *lab) writeCNIConfig(c Cluster, n Node, podCIDR string) error {
	if _, err := netip.ParsePrefix(podCIDR); err != nil {
		return fmt.Errorf("pod CIDR %q of node %s: %w", podCIDR, n.Name, err)
	}
	primary := map[string]any{
		"cniVersion": cniVersion,
		"name":       "lab-primary",
		"plugins": []any{
			map[string]any{
				"type": "bridge", "bridge": "cni0", "isGateway": true, "ipMasq": false, "hairpinMode": true,
				"ipam": map[string]any{
					"type":   "host-local",
					"ranges": [][]map[string]string{{{"subnet": podCIDR}}},
					"routes": []map[string]string{{"dst": "0.0.0.0/0"}},
				},
			},
			map[string]any{"type": "portmap", "capabilities": map[string]bool{"portMappings": true}},
		},
	}
	if l.switchboardPrimary() {
		primary = switchboardDelegate()
	}
	multus := map[string]any{
		"cniVersion": cniVersion,
		"name":       "multus-cni-network",
		"type":       "multus",
		"kubeconfig": "/etc/cni/net.d/multus.d/multus.kubeconfig",
		"confDir":    "/etc/cni/net.d",
		"cniDir":     "/var/lib/cni/multus",
		"binDir":     "/opt/cni/bin",
		"delegates":  []any{primary},
	}
	b, err := json.MarshalIndent(multus, "", "  ")
	if err != nil {
		return err
	}
	kc, err := os.ReadFile(l.clusterPath(c.Name, "multus.kubeconfig"))
	if err != nil {
		return err
	}
	if err := writeFiles(l.nodePath(n, "etc-cni", "net.d", "multus.d"), map[string][]byte{"multus.kubeconfig": kc}); err != nil {
		return err
	}
	// Written last and atomically: containerd loads the first file it sees.
	return writeFiles(l.nodePath(n, "etc-cni", "net.d"), map[string][]byte{"00-multus.conf": b})
}

// routePodCIDRs routes every node's pod CIDR via that node, in the other
// nodes and in the control-plane namespace (which reaches pods for
// webhooks and for service traffic to the API server).
func (l *lab) routePodCIDRs(ctx context.Context, c Cluster) error {
	out, err := l.kubectl(ctx, c.Name, "get", "nodes", "-o",
		`jsonpath={range .items[*]}{.metadata.name} {.spec.podCIDR}{"\n"}{end}`)
	if err != nil {
		return err
	}
	cidrs := map[string]netip.Prefix{}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Fields(line)
		if len(f) != 2 {
			continue
		}
		p, err := netip.ParsePrefix(f[1])
		if err != nil {
			return fmt.Errorf("pod CIDR of node %s: %w", f[0], err)
		}
		cidrs[f[0]] = p
	}
	for _, dst := range c.Nodes {
		p, ok := cidrs[dst.Name]
		if !ok {
			return fmt.Errorf("node %s has no pod CIDR", dst.Name)
		}
		if err := addRoute(c.NetNS, p, dst.IP); err != nil {
			return err
		}
		for _, src := range c.Nodes {
			// With Switchboard as the primary network its agents route
			// between the nodes; the control plane's routes stay the lab's.
			if src.Name != dst.Name && !l.switchboardPrimary() {
				if err := addRoute(src.NetNS, p, dst.IP); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

func (l *lab) waitNodesReady(ctx context.Context, c Cluster) error {
	_, err := l.kubectl(ctx, c.Name, "wait", "--for=condition=Ready", "node", "--all", "--timeout=90s")
	if err != nil {
		return fmt.Errorf("nodes of cluster %s not Ready: %w (read the kubelet logs in %s)", c.Name, err, l.logDir())
	}
	return nil
}

// waitAPIServer polls /readyz until the API server is ready.
func (l *lab) waitAPIServer(ctx context.Context, c Cluster, procs []*started) error {
	return l.poll(ctx, 90*time.Second, "kube-apiserver of cluster "+c.Name+" ready", procs, func() (bool, error) {
		out, err := l.kubectl(ctx, c.Name, "get", "--raw", "/readyz")
		return err == nil && bytes.Equal(bytes.TrimSpace(out), []byte("ok")), nil
	})
}
