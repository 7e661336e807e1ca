package toolchain

import (
	"fmt"
	"strings"
)

// Pinned versions of what the lab runs.
const (
	KubernetesVersion  = "v1.34.2"
	EtcdVersion        = "v3.6.16"
	MultusVersion      = "v4.2.2"
	WhereaboutsVersion = "v0.9.2"
)

// kubernetesStaging lists the k8s.io modules that k8s.io/kubernetes keeps
// in its staging tree and requires at v0.0.0; each must be replaced by its
// published release for the main module to resolve.
var kubernetesStaging = []string{
	"api", "apiextensions-apiserver", "apimachinery", "apiserver",
	"cli-runtime", "client-go", "cloud-provider", "cluster-bootstrap",
	"code-generator", "component-base", "component-helpers",
	"controller-manager", "cri-api", "cri-client", "csi-translation-lib",
	"dynamic-resource-allocation", "endpointslice", "externaljwt", "kms",
	"kube-aggregator", "kube-controller-manager", "kube-proxy",
	"kube-scheduler", "kubectl", "kubelet", "metrics", "mount-utils",
	"pod-security-admission", "sample-apiserver", "sample-cli-plugin",
	"sample-controller",
}

// Kubernetes returns the spec of the control-plane and node binaries:
// kube-apiserver, kube-controller-manager, kube-scheduler, kubelet,
// kube-proxy and kubectl at KubernetesVersion, with the version stamped in
// so that they do not report v0.0.0-master.
//
// It keeps the host's default CGO setting, so it shares the go build cache
// with plain "go build" runs of the same packages; CGO_ENABLED=0 would
// work too but costs a second cold build (about 4.5 min on 2 cores).
func Kubernetes() Build {
	v := KubernetesVersion
	parts := strings.SplitN(strings.TrimPrefix(v, "v"), ".", 3)
	staging := "v0." + parts[1] + "." + parts[2]
	replace := make(map[string]string, len(kubernetesStaging))
	for _, name := range kubernetesStaging {
		replace["k8s.io/"+name] = "k8s.io/" + name + " " + staging
	}
	var ldflags []string
	for _, pkg := range []string{"k8s.io/component-base/version", "k8s.io/client-go/pkg/version"} {
		ldflags = append(ldflags,
			fmt.Sprintf("-X %s.gitVersion=%s", pkg, v),
			fmt.Sprintf("-X %s.gitMajor=%s", pkg, parts[0]),
			fmt.Sprintf("-X %s.gitMinor=%s", pkg, parts[1]),
			fmt.Sprintf("-X %s.gitTreeState=clean", pkg),
		)
	}
	var pkgs []string
	for _, cmd := range []string{"kube-apiserver", "kube-controller-manager", "kube-scheduler", "kubelet", "kube-proxy", "kubectl"} {
		pkgs = append(pkgs, "k8s.io/kubernetes/cmd/"+cmd)
	}
	return Build{
		Name:     "kubernetes",
		Module:   "k8s.io/kubernetes",
		Version:  v,
		Replace:  replace,
		Packages: pkgs,
		LDFlags:  strings.Join(ldflags, " "),
	}
}

// Etcd returns the spec of etcd and etcdctl at EtcdVersion, static.
func Etcd() Build {
	return Build{
		Name:     "etcd",
		Module:   "go.etcd.io/etcd/server/v3",
		Version:  EtcdVersion,
		Require:  map[string]string{"go.etcd.io/etcd/etcdctl/v3": EtcdVersion},
		Packages: []string{"go.etcd.io/etcd/server/v3", "go.etcd.io/etcd/etcdctl/v3"},
		Names:    map[string]string{"go.etcd.io/etcd/server/v3": "etcd"},
		Env:      []string{"CGO_ENABLED=0"},
	}
}

// Multus returns the spec of the Multus thin CNI plugin ("multus") at
// MultusVersion, static, with the version stamped in for "multus -version".
func Multus() Build {
	const mod = "gopkg.in/k8snetworkplumbingwg/multus-cni.v4"
	return Build{
		Name:     "multus",
		Module:   mod,
		Version:  MultusVersion,
		Packages: []string{mod + "/cmd/multus"},
		LDFlags:  "-X " + mod + "/pkg/multus.version=" + MultusVersion + " -X " + mod + "/pkg/multus.gitTreeState=clean",
		Env:      []string{"CGO_ENABLED=0"},
	}
}

// Whereabouts returns the spec of the Whereabouts IPAM plugin
// ("whereabouts") at WhereaboutsVersion, static. The checksum database
// does not know that version, hence GONOSUMDB.
func Whereabouts() Build {
	const mod = "github.com/k8snetworkplumbingwg/whereabouts"
	return Build{
		Name:     "whereabouts",
		Module:   mod,
		Version:  WhereaboutsVersion,
		Packages: []string{mod + "/cmd"},
		Names:    map[string]string{mod + "/cmd": "whereabouts"},
		Env:      []string{"CGO_ENABLED=0", "GONOSUMDB=" + mod},
	}
}
