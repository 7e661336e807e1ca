package netctl

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"switchboard/api/v1alpha1"
	"switchboard/internal/apiservertest"
)

// The envtest tier: two real API servers, clusters "a" and "b", with the
// Switchboard CRDs and no operator, and a kubeconfig with a context for
// each plus "down", whose server is a closed port.
var (
	// k8s talks to each cluster directly, by context name.
	k8s = map[string]client.Client{}
	// kubeconfig is the file with contexts a, b and down.
	kubeconfig string
	// skipEnv, when set, is why the envtest tier cannot run.
	skipEnv string
)

func TestMain(m *testing.M) { os.Exit(runMain(m)) }

func runMain(m *testing.M) int {
	scheme := runtime.NewScheme()
	for _, add := range []func(*runtime.Scheme) error{clientgoscheme.AddToScheme, v1alpha1.AddToScheme} {
		if err := add(scheme); err != nil {
			panic(err)
		}
	}
	configs := map[string]*rest.Config{}
	for _, name := range []string{"a", "b"} {
		srv, err := apiservertest.Start(scheme)
		if errors.Is(err, apiservertest.ErrNoBinaries) {
			skipEnv = err.Error()
			return m.Run()
		}
		if err != nil {
			fmt.Fprintf(os.Stderr, "cluster %s: %v\n", name, err)
			return 1
		}
		defer func() {
			if err := srv.Stop(); err != nil {
				fmt.Fprintf(os.Stderr, "stop cluster %s: %v\n", name, err)
			}
		}()
		configs[name] = srv.Config
		if k8s[name], err = client.New(srv.Config, client.Options{Scheme: scheme}); err != nil {
			fmt.Fprintln(os.Stderr, "client:", err)
			return 1
		}
	}
	closed, err := closedPort()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	configs["down"] = &rest.Config{Host: "https://" + closed, TLSClientConfig: configs["a"].TLSClientConfig}
	dir, err := os.MkdirTemp("", "netctl-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	kubeconfig = filepath.Join(dir, "kubeconfig")
	if err := apiservertest.WriteKubeconfig(kubeconfig, configs); err != nil {
		fmt.Fprintln(os.Stderr, "write kubeconfig:", err)
		return 1
	}
	return m.Run()
}

// closedPort returns a local address on which nothing listens.
func closedPort() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	addr := l.Addr().String()
	return addr, l.Close()
}

// needEnv skips a test of the envtest tier when its binaries are missing,
// and returns a fresh namespace that exists in each of clusters (default
// both).
func needEnv(t *testing.T, clusters ...string) string {
	t.Helper()
	if skipEnv != "" {
		t.Skip(skipEnv)
	}
	t.Parallel()
	if len(clusters) == 0 {
		clusters = []string{"a", "b"}
	}
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "sb-"}}
	if err := k8s[clusters[0]].Create(context.Background(), ns); err != nil {
		t.Fatalf("create namespace: %v", err)
	}
	for _, c := range clusters[1:] {
		if err := k8s[c].Create(context.Background(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns.Name}}); err != nil {
			t.Fatalf("create namespace %s in %s: %v", ns.Name, c, err)
		}
	}
	return ns.Name
}

// open opens contexts of the test kubeconfig.
func open(t *testing.T, contexts ...string) []Cluster {
	t.Helper()
	clusters, err := Open(Config{Kubeconfig: kubeconfig, Contexts: contexts})
	if err != nil {
		t.Fatalf("open %v: %v", contexts, err)
	}
	return clusters
}

func getNetwork(t *testing.T, cluster, ns, name string) *v1alpha1.Network {
	t.Helper()
	net := &v1alpha1.Network{}
	if err := k8s[cluster].Get(context.Background(), client.ObjectKey{Namespace: ns, Name: name}, net); err != nil {
		t.Fatalf("cluster %s: get network %s/%s: %v", cluster, ns, name, err)
	}
	return net
}
