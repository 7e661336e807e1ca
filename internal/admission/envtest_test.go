package admission_test

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/go-logr/logr"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"
	"sigs.k8s.io/controller-runtime/pkg/webhook"
	"sigs.k8s.io/yaml"

	sbv1 "switchboard/api/v1alpha1"
	"switchboard/config"
	"switchboard/internal/admission"
	"switchboard/internal/apiservertest"
	"switchboard/internal/podnet"
	"switchboard/internal/webhookcert"
)

// The envtest tier: a real kube-apiserver calls the operator's webhook
// server, installed from config/deploy/webhook.yaml (its rules,
// matchConditions and namespaceSelector as shipped; only the clientConfig
// becomes a URL, as the test server has no Service), with a certificate
// and caBundle that webhookcert makes.

// webhookConfig reads the ValidatingWebhookConfiguration of the shipped
// manifests and points it at url.
func webhookConfig(t *testing.T, url string) *admissionregistrationv1.ValidatingWebhookConfiguration {
	t.Helper()
	all, err := config.Manifests(config.Params{ClusterCIDR: "10.244.0.0/16", ServiceCIDR: "10.96.0.0/12"})
	if err != nil {
		t.Fatal(err)
	}
	for _, doc := range strings.Split(all, "\n---\n") {
		if !strings.Contains(doc, "kind: ValidatingWebhookConfiguration") {
			continue
		}
		c := &admissionregistrationv1.ValidatingWebhookConfiguration{}
		if err := yaml.UnmarshalStrict([]byte(doc), c); err != nil {
			t.Fatal(err)
		}
		for i := range c.Webhooks {
			cc := &c.Webhooks[i].ClientConfig
			cc.URL = ptr.To(url + *cc.Service.Path)
			cc.Service = nil
		}
		return c
	}
	t.Fatal("no ValidatingWebhookConfiguration in the manifests")
	return nil
}

func freePort(t *testing.T) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// env is a running API server with the operator's webhook.
type env struct {
	k8s  client.Client
	stop func() // stops the operator (the webhook), not the API server
}

func startEnv(t *testing.T) *env {
	t.Helper()
	scheme := runtime.NewScheme()
	for _, add := range []func(*runtime.Scheme) error{clientgoscheme.AddToScheme, sbv1.AddToScheme} {
		if err := add(scheme); err != nil {
			t.Fatal(err)
		}
	}
	ctrl.SetLogger(logr.FromSlogHandler(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError})))
	srv := apiservertest.ForTest(t, scheme)
	k8s, err := client.New(srv.Config, client.Options{Scheme: scheme})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := k8s.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "switchboard-system"}}); err != nil {
		t.Fatal(err)
	}
	port := freePort(t)
	if err := k8s.Create(ctx, webhookConfig(t, fmt.Sprintf("https://127.0.0.1:%d", port))); err != nil {
		t.Fatal(err)
	}
	rot := webhookcert.New(k8s, k8s, webhookcert.Options{
		Namespace: "switchboard-system", SecretName: admission.SecretName,
		WebhookConfigs: []string{admission.WebhookConfigName}, IPs: []net.IP{net.ParseIP("127.0.0.1")},
	})
	mgr, err := ctrl.NewManager(srv.Config, ctrl.Options{
		Scheme: scheme, Metrics: metricsserver.Options{BindAddress: "0"}, HealthProbeBindAddress: "0",
		WebhookServer: webhook.NewServer(webhook.Options{Host: "127.0.0.1", Port: port,
			TLSOpts: []func(*tls.Config){func(c *tls.Config) { c.GetCertificate = rot.GetCertificate }}}),
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := mgr.Add(rot); err != nil {
		t.Fatal(err)
	}
	if err := admission.Setup(mgr); err != nil {
		t.Fatal(err)
	}
	mctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- mgr.Start(mctx) }()
	stopped := false
	stop := func() {
		if !stopped {
			stopped = true
			cancel()
			if err := <-done; err != nil {
				t.Error(err)
			}
		}
	}
	t.Cleanup(stop)
	eventually(t, "the webhook certificate in place", func() error { return rot.Ready(nil) })
	return &env{k8s: k8s, stop: stop}
}

// eventually polls f until it returns nil; the limit only ends a broken
// test.
func eventually(t *testing.T, what string, f func() error) {
	t.Helper()
	var err error
	for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		if err = f(); err == nil {
			return
		}
	}
	t.Fatalf("%s: %v", what, err)
}

func (e *env) create(t *testing.T, objs ...client.Object) {
	t.Helper()
	for _, o := range objs {
		if err := e.k8s.Create(context.Background(), o); err != nil {
			t.Fatalf("create %T %s: %v", o, o.GetName(), err)
		}
	}
}

func namespace(name string, labels map[string]string) *corev1.Namespace {
	return &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels}}
}

func network(ns, name, cidr string, sharedWith ...string) *sbv1.Network {
	n := &sbv1.Network{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}, Spec: sbv1.NetworkSpec{Type: sbv1.VNet, SharedWith: sharedWith}}
	if cidr != "" {
		n.Spec.IPAM = &sbv1.IPAM{CIDR: cidr}
	}
	return n
}

func pod(ns, name, annotation string) *corev1.Pod {
	p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "switchboard.local/pause:dev"}}}}
	if annotation != "" {
		p.Annotations = map[string]string{podnet.Annotation: annotation}
	}
	return p
}

// refused creates o and wants the webhook's denial containing every one of
// want. Until the API server's informers see the webhook configuration
// and its caBundle, a create may fail otherwise or pass: it retries then,
// deleting what passed.
func (e *env) refused(t *testing.T, o client.Object, want ...string) string {
	t.Helper()
	var msg string
	eventually(t, fmt.Sprintf("create of %s refused with %q", o.GetName(), want), func() error {
		c := o.DeepCopyObject().(client.Object)
		err := e.k8s.Create(context.Background(), c)
		if err == nil {
			_ = e.k8s.Delete(context.Background(), c)
			return errors.New("admitted")
		}
		msg = err.Error()
		if !strings.Contains(msg, "denied the request") {
			return err
		}
		for _, w := range want {
			if !strings.Contains(msg, w) {
				t.Fatalf("refusal lacks %q: %s", w, msg)
			}
		}
		return nil
	})
	return msg
}
