package operator_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	"switchboard/api/v1alpha1"
	"switchboard/internal/apiservertest"
	"switchboard/internal/operator"
)

// The envtest tier: a real kube-apiserver and etcd, the generated CRDs, and
// the operator's reconcilers in a manager, shared by every test below.
var (
	scheme = runtime.NewScheme()
	// k8s talks to the API server directly (no cache), for the tests' own
	// reads and writes, as an administrator.
	k8s client.Client
	// restCfg is k8s's configuration, for clients that act as other users.
	restCfg *rest.Config
	// skipEnv, when set, is why the envtest tier cannot run.
	skipEnv string
)

// The operator's --cluster-cidr and --service-cidr in these tests.
const (
	clusterCIDR = "10.244.0.0/16"
	serviceCIDR = "10.96.0.0/12"
)

func TestMain(m *testing.M) { os.Exit(runMain(m)) }

func runMain(m *testing.M) int {
	for _, add := range []func(*runtime.Scheme) error{clientgoscheme.AddToScheme, v1alpha1.AddToScheme} {
		if err := add(scheme); err != nil {
			panic(err)
		}
	}
	log := logr.FromSlogHandler(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError}))
	ctrl.SetLogger(log)
	srv, err := apiservertest.Start(scheme, "testdata")
	if errors.Is(err, apiservertest.ErrNoBinaries) {
		skipEnv = err.Error()
		return m.Run()
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer func() {
		if err := srv.Stop(); err != nil {
			fmt.Fprintln(os.Stderr, "stop envtest:", err)
		}
	}()
	cfg := srv.Config
	restCfg = cfg
	if k8s, err = client.New(cfg, client.Options{Scheme: scheme}); err != nil {
		fmt.Fprintln(os.Stderr, "client:", err)
		return 1
	}

	mgr, err := ctrl.NewManager(cfg, ctrl.Options{
		Scheme:                 scheme,
		Metrics:                metricsserver.Options{BindAddress: "0"},
		HealthProbeBindAddress: "0",
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, "manager:", err)
		return 1
	}
	ctx, cancel := context.WithCancel(context.Background())
	reserved := []operator.ReservedPrefix{
		{Prefix: netip.MustParsePrefix(clusterCIDR), Name: "the cluster's pod CIDR (--cluster-cidr)"},
		{Prefix: netip.MustParsePrefix(serviceCIDR), Name: "the cluster's service CIDR (--service-cidr)"},
	}
	reg, stopIDCO, err := startIDCO(ctx)
	if err != nil {
		cancel()
		fmt.Fprintln(os.Stderr, "start idco:", err)
		return 1
	}
	defer stopIDCO()
	if err := operator.Setup(ctx, mgr, operator.Config{Reserved: reserved, InterCluster: reg}); err != nil {
		cancel()
		fmt.Fprintln(os.Stderr, "setup:", err)
		return 1
	}
	done := make(chan error, 1)
	go func() { done <- mgr.Start(ctx) }()
	code := m.Run()
	cancel()
	if err := <-done; err != nil {
		fmt.Fprintln(os.Stderr, "manager:", err)
	}
	return code
}

// needEnv skips a test of the envtest tier when its binaries are missing,
// and returns a fresh namespace for it.
func needEnv(t *testing.T) string {
	t.Helper()
	if skipEnv != "" {
		t.Skip(skipEnv)
	}
	t.Parallel()
	return newNamespace(t)
}

// newNamespace creates a namespace with a fresh name and returns the name.
func newNamespace(t *testing.T) string {
	t.Helper()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "sb-"}}
	if err := k8s.Create(context.Background(), ns); err != nil {
		t.Fatalf("create namespace: %v", err)
	}
	return ns.Name
}

// eventually polls f until it returns nil. The timeout is generous: it is
// there to end a broken test, not to measure anything.
func eventually(t *testing.T, what string, f func() error) {
	t.Helper()
	eventuallyWithin(t, 30*time.Second, what, f)
}

// eventuallyWithin is eventually with a timeout of its own, for what waits
// on a long poll.
func eventuallyWithin(t *testing.T, timeout time.Duration, what string, f func() error) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		err := f()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not so after %v: %v", what, timeout, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// waitEvent waits for an event of reason on the object named name and
// returns its message.
func waitEvent(t *testing.T, ns, kind, name, reason string) string {
	t.Helper()
	var msg string
	eventually(t, fmt.Sprintf("event %s on %s %s/%s", reason, kind, ns, name), func() error {
		var list corev1.EventList
		if err := k8s.List(context.Background(), &list, client.InNamespace(ns)); err != nil {
			return err
		}
		var seen []string
		for _, e := range list.Items {
			if e.InvolvedObject.Kind == kind && e.InvolvedObject.Name == name && e.Reason == reason {
				msg = e.Message
				return nil
			}
			seen = append(seen, e.InvolvedObject.Name+":"+e.Reason)
		}
		return fmt.Errorf("events so far: %s", strings.Join(seen, ", "))
	})
	return msg
}

// waitCondition waits until net's condition typ has reason, at net's latest
// generation, and returns the Network.
func waitCondition(t *testing.T, ns, name, typ, reason string) *v1alpha1.Network {
	t.Helper()
	net := &v1alpha1.Network{}
	eventually(t, fmt.Sprintf("network %s/%s condition %s=%s", ns, name, typ, reason), func() error {
		if err := k8s.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: name}, net); err != nil {
			return err
		}
		for _, c := range net.Status.Conditions {
			if c.Type == typ && c.Reason == reason && net.Status.ObservedGeneration == net.Generation {
				return nil
			}
		}
		return fmt.Errorf("generation %d, status %+v", net.Generation, net.Status)
	})
	return net
}

func condition(net *v1alpha1.Network, typ string) metav1.Condition {
	for _, c := range net.Status.Conditions {
		if c.Type == typ {
			return c
		}
	}
	return metav1.Condition{}
}

// waitGone waits until obj no longer exists.
func waitGone(t *testing.T, obj client.Object) {
	t.Helper()
	eventually(t, fmt.Sprintf("%T %s/%s deleted", obj, obj.GetNamespace(), obj.GetName()), func() error {
		err := k8s.Get(context.Background(), client.ObjectKeyFromObject(obj), obj)
		if err == nil {
			return errors.New("still there")
		}
		return client.IgnoreNotFound(err)
	})
}

func create(t *testing.T, obj client.Object) {
	t.Helper()
	if err := k8s.Create(context.Background(), obj); err != nil {
		t.Fatalf("create %T %s: %v", obj, obj.GetName(), err)
	}
}
