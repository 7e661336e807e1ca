// Package apiservertest starts real API servers for tests: a kube-apiserver
// and its etcd (envtest), from the binaries that `make deps` builds into the
// cache (toolchain.DefaultCacheDir), with Switchboard's CRDs installed. Each
// Server is a cluster of its own, so a test may start several.
package apiservertest

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	goruntime "runtime"
	"testing"

	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	"switchboard/internal/lab/toolchain"
)

// ErrNoBinaries is returned (wrapped) by Start when the cached binaries are
// missing; tests skip on it.
var ErrNoBinaries = errors.New("envtest binaries missing: run make deps")

// Server is one running kube-apiserver with its etcd.
type Server struct {
	// Config reaches the server as an administrator.
	Config *rest.Config
	env    *envtest.Environment
	assets string
}

// Start starts an API server with the CRDs of config/crd and of
// extraCRDDirs installed. scheme is the scheme envtest uses to install
// them. The caller stops the server.
func Start(scheme *runtime.Scheme, extraCRDDirs ...string) (*Server, error) {
	assets, err := assetsDir()
	if err != nil {
		return nil, err
	}
	env := &envtest.Environment{
		BinaryAssetsDirectory: assets,
		CRDDirectoryPaths:     append([]string{CRDDir()}, extraCRDDirs...),
		ErrorIfCRDPathMissing: true,
		Scheme:                scheme,
	}
	cfg, err := env.Start()
	if err != nil {
		os.RemoveAll(assets)
		return nil, fmt.Errorf("start envtest: %w", err)
	}
	return &Server{Config: cfg, env: env, assets: assets}, nil
}

// Stop stops the server and its etcd and removes what Start made.
func (s *Server) Stop() error {
	defer os.RemoveAll(s.assets)
	return s.env.Stop()
}

// CRDDir is the directory of Switchboard's generated CRDs, config/crd.
func CRDDir() string {
	_, file, _, _ := goruntime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", "config", "crd")
}

// WriteKubeconfig writes to path a kubeconfig with one context (and a
// cluster and user of the same name) per entry of contexts, carrying the
// server address and credentials of its rest.Config. It has no current
// context.
func WriteKubeconfig(path string, contexts map[string]*rest.Config) error {
	kc := clientcmdapi.NewConfig()
	for name, cfg := range contexts {
		kc.Clusters[name] = &clientcmdapi.Cluster{Server: cfg.Host, CertificateAuthorityData: cfg.CAData}
		kc.AuthInfos[name] = &clientcmdapi.AuthInfo{
			ClientCertificateData: cfg.CertData,
			ClientKeyData:         cfg.KeyData,
			Token:                 cfg.BearerToken,
		}
		kc.Contexts[name] = &clientcmdapi.Context{Cluster: name, AuthInfo: name}
	}
	return clientcmd.WriteToFile(*kc, path)
}

// binaries names the binaries envtest needs and where they are in the cache.
var binaries = map[string]string{
	"etcd":           filepath.Join("etcd-"+toolchain.EtcdVersion, "bin", "etcd"),
	"kube-apiserver": filepath.Join("kubernetes-"+toolchain.KubernetesVersion, "bin", "kube-apiserver"),
	"kubectl":        filepath.Join("kubernetes-"+toolchain.KubernetesVersion, "bin", "kubectl"),
}

// assetsDir makes a directory of symlinks with the names envtest expects,
// to the cached binaries. The caller removes it.
func assetsDir() (string, error) {
	cache, err := toolchain.DefaultCacheDir()
	if err != nil {
		return "", err
	}
	dir, err := os.MkdirTemp("", "switchboard-envtest-")
	if err != nil {
		return "", err
	}
	for name, rel := range binaries {
		src := filepath.Join(cache, rel)
		if _, err := os.Stat(src); err != nil {
			os.RemoveAll(dir)
			return "", fmt.Errorf("%w: %s: %w", ErrNoBinaries, name, err)
		}
		if err := os.Symlink(src, filepath.Join(dir, name)); err != nil {
			os.RemoveAll(dir)
			return "", err
		}
	}
	return dir, nil
}

// ForTest is Start for one test: it skips the test when the binaries are
// missing, fails it on any other error, and stops the server when the test
// ends.
func ForTest(t testing.TB, scheme *runtime.Scheme, extraCRDDirs ...string) *Server {
	t.Helper()
	srv, err := Start(scheme, extraCRDDirs...)
	if errors.Is(err, ErrNoBinaries) {
		t.Skip(err)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Stop() })
	return srv
}
