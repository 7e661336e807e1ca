// Package config holds Switchboard's installation manifests: the generated
// CRDs and RBAC, and the operator and agent workloads, embedded so that the
// switchboard binary can install them anywhere (`switchboard lab install`
// applies them to every lab cluster).
package config

import (
	"embed"
	"fmt"
	"io/fs"
	"strings"
)

//go:embed crd/*.yaml rbac/*/*.yaml deploy/*.yaml
var files embed.FS

// Params fill the manifests' placeholders.
type Params struct {
	ClusterCIDR string // the cluster's pod CIDRs, comma-separated
	ServiceCIDR string // the cluster's service CIDRs, comma-separated
}

// order is the apply order: a namespace before what lives in it, CRDs and
// roles before the workloads that use them.
var order = []string{"deploy/namespace.yaml", "crd/*.yaml", "rbac/*/*.yaml", "deploy/operator.yaml", "deploy/agent.yaml"}

// Manifests returns every manifest as one multi-document YAML stream.
func Manifests(p Params) (string, error) {
	if p.ClusterCIDR == "" || p.ServiceCIDR == "" {
		return "", fmt.Errorf("install needs the cluster's pod and service CIDRs (--cluster-cidr, --service-cidr)")
	}
	var b strings.Builder
	for _, pattern := range order {
		names, err := fs.Glob(files, pattern)
		if err != nil {
			return "", err
		}
		for _, n := range names {
			data, err := files.ReadFile(n)
			if err != nil {
				return "", err
			}
			b.WriteString("---\n# " + n + "\n")
			b.Write(data)
		}
	}
	r := strings.NewReplacer("${CLUSTER_CIDR}", p.ClusterCIDR, "${SERVICE_CIDR}", p.ServiceCIDR)
	return r.Replace(b.String()), nil
}
