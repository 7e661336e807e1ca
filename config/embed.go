// Package config holds Switchboard's installation manifests: the generated
// CRDs and RBAC, and the operator, agent and edge workloads, embedded so
// that the switchboard binary can install them anywhere (`switchboard lab
// install` applies them to every lab cluster).
package config

import (
	"embed"
	"fmt"
	"io/fs"
	"regexp"
	"strings"
	"text/template"
)

//go:embed crd/*.yaml rbac/*/*.yaml deploy/*.yaml
var files embed.FS

// Params fill the workload manifests (deploy/*.yaml, Go templates).
type Params struct {
	ClusterCIDR string // the cluster's pod CIDRs, comma-separated
	ServiceCIDR string // the cluster's service CIDRs, comma-separated
	// InterCluster, if set, runs the operator with --inter-cluster and
	// adds switchboard-edge on the gateway nodes.
	InterCluster *InterCluster
	// BGP runs the agents with --bgp: each node's BGP speaker
	// (docs/bgp.md), idle until BGPPeers exist.
	BGP bool
	// Primary runs the agents with --primary: Switchboard is the cluster's
	// primary pod network (the nodes' CNI configuration names it).
	Primary bool
}

// InterCluster are the settings of inter-cluster mode. The client
// certificates for each provider are read from the Secret IDCOSecret in
// switchboard-system, keys "<provider>.ca.crt", "<provider>.tls.crt" and
// "<provider>.tls.key" (what "switchboard-idco enrol" writes).
type InterCluster struct {
	ClusterName string // as enrolled with the providers
	EdgeNode    string // the gateway node whose edge carries this cluster's networks
	// GatewayLabel selects the nodes that run switchboard-edge: "key=value".
	GatewayLabel string
	WANDevice    string // the gateways' WAN interface
	Providers    []Provider
}

// Provider is an IDCO the edges serve. The operator is allowed these
// providers only (--allowed-providers NAME=ADDRESS).
type Provider struct {
	Name    string // as in the Networks' spec.provider.name
	Address string // host:port
}

// IDCOSecret is the Secret holding the IDCO client certificates.
const IDCOSecret = "switchboard-idco"

// CertKeys are the Secret keys of provider's certificate files, in the
// order ca.crt, tls.crt, tls.key.
func CertKeys(provider string) [3]string {
	return [3]string{provider + ".ca.crt", provider + ".tls.crt", provider + ".tls.key"}
}

var (
	labelRE = regexp.MustCompile(`^([a-z0-9]([-a-z0-9.]*[a-z0-9])?/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?=[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$`)
	nameRE  = regexp.MustCompile(`^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$`)
	// providerRE: provider names are DNS labels (the Network CRD's rule).
	providerRE = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`)
)

func (ic *InterCluster) validate() error {
	switch {
	case !nameRE.MatchString(ic.ClusterName):
		return fmt.Errorf("inter-cluster: cluster name %q is not a DNS name", ic.ClusterName)
	case !nameRE.MatchString(ic.EdgeNode):
		return fmt.Errorf("inter-cluster: edge node %q is not a node name", ic.EdgeNode)
	case !labelRE.MatchString(ic.GatewayLabel):
		return fmt.Errorf("inter-cluster: gateway label %q is not key=value", ic.GatewayLabel)
	case ic.WANDevice == "":
		return fmt.Errorf("inter-cluster: the gateways' WAN device is required")
	case len(ic.Providers) == 0:
		return fmt.Errorf("inter-cluster: at least one provider (IDCO) is required")
	}
	for _, p := range ic.Providers {
		if !providerRE.MatchString(p.Name) || p.Address == "" {
			return fmt.Errorf("inter-cluster: provider %q=%q: want a DNS label and a host:port", p.Name, p.Address)
		}
	}
	return nil
}

// order is the apply order: a namespace before what lives in it, CRDs and
// roles before the workloads that use them.
var order = []string{"deploy/namespace.yaml", "crd/*.yaml", "rbac/*/*.yaml", "deploy/operator.yaml", "deploy/webhook.yaml", "deploy/agent.yaml", "deploy/edge.yaml"}

var funcs = template.FuncMap{
	"certKeys":   CertKeys,
	"labelKey":   func(l string) string { k, _, _ := strings.Cut(l, "="); return k },
	"labelValue": func(l string) string { _, v, _ := strings.Cut(l, "="); return v },
}

// Manifests returns every manifest as one multi-document YAML stream.
func Manifests(p Params) (string, error) {
	if p.ClusterCIDR == "" || p.ServiceCIDR == "" {
		return "", fmt.Errorf("install needs the cluster's pod and service CIDRs (--cluster-cidr, --service-cidr)")
	}
	if p.InterCluster != nil {
		if err := p.InterCluster.validate(); err != nil {
			return "", err
		}
	}
	var b strings.Builder
	for _, pattern := range order {
		names, err := fs.Glob(files, pattern)
		if err != nil {
			return "", err
		}
		for _, n := range names {
			if n == "deploy/edge.yaml" && p.InterCluster == nil {
				continue
			}
			data, err := files.ReadFile(n)
			if err != nil {
				return "", err
			}
			b.WriteString("---\n# " + n + "\n")
			if !strings.HasPrefix(n, "deploy/") {
				b.Write(data) // generated: no placeholders
				continue
			}
			t, err := template.New(n).Funcs(funcs).Option("missingkey=error").Parse(string(data))
			if err != nil {
				return "", fmt.Errorf("manifest %s: %w", n, err)
			}
			if err := t.Execute(&b, p); err != nil {
				return "", fmt.Errorf("manifest %s: %w", n, err)
			}
		}
	}
	return b.String(), nil
}
