package webhookcert

import (
	"context"
	"crypto/x509"
	"net"
	"testing"
	"time"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
)

type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

func setup(t *testing.T) (*Rotator, client.Client, *clock) {
	s := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(s); err != nil {
		t.Fatal(err)
	}
	cfg := &admissionregistrationv1.ValidatingWebhookConfiguration{
		ObjectMeta: metav1.ObjectMeta{Name: "hooks"},
		Webhooks:   []admissionregistrationv1.ValidatingWebhook{{Name: "a.example"}, {Name: "b.example"}},
	}
	c := fake.NewClientBuilder().WithScheme(s).WithObjects(cfg).Build()
	clk := &clock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	r := New(c, c, Options{
		Namespace: "sys", SecretName: "cert", WebhookConfigs: []string{"hooks"},
		DNSNames: []string{"svc.sys.svc"}, IPs: []net.IP{net.ParseIP("127.0.0.1")},
		CAValidity: 300 * 24 * time.Hour, CertValidity: 30 * 24 * time.Hour, Now: clk.now,
	})
	return r, c, clk
}

// state reads what the rotator left: the Secret, the caBundles, and the
// served certificate.
func state(t *testing.T, r *Rotator, c client.Client) (*corev1.Secret, [][]byte, *x509.Certificate) {
	t.Helper()
	var s corev1.Secret
	if err := c.Get(context.Background(), client.ObjectKey{Namespace: "sys", Name: "cert"}, &s); err != nil {
		t.Fatal(err)
	}
	var cfg admissionregistrationv1.ValidatingWebhookConfiguration
	if err := c.Get(context.Background(), client.ObjectKey{Name: "hooks"}, &cfg); err != nil {
		t.Fatal(err)
	}
	var bundles [][]byte
	for _, w := range cfg.Webhooks {
		bundles = append(bundles, w.ClientConfig.CABundle)
	}
	tc, err := r.GetCertificate(nil)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(tc.Certificate[0])
	if err != nil {
		t.Fatal(err)
	}
	return &s, bundles, leaf
}

// verify checks that every caBundle trusts the served certificate for
// every name, at now.
func verify(t *testing.T, bundles [][]byte, leaf *x509.Certificate, now time.Time) {
	t.Helper()
	for i, b := range bundles {
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(b) {
			t.Fatalf("webhook %d: caBundle holds no certificate", i)
		}
		for _, name := range []string{"svc.sys.svc", "127.0.0.1"} {
			if _, err := leaf.Verify(x509.VerifyOptions{Roots: pool, DNSName: name, CurrentTime: now}); err != nil {
				t.Fatalf("webhook %d does not trust the served certificate for %s: %v", i, name, err)
			}
		}
	}
}

func TestRotatorLifecycle(t *testing.T) {
	r, c, clk := setup(t)
	ctx := context.Background()
	if r.Ready(nil) == nil {
		t.Fatal("ready before the first Ensure")
	}
	if err := r.Ensure(ctx); err != nil {
		t.Fatal(err)
	}
	if err := r.Ready(nil); err != nil {
		t.Fatal(err)
	}
	s1, bundles, leaf1 := state(t, r, c)
	verify(t, bundles, leaf1, clk.t)

	// Nothing is due: nothing changes.
	clk.t = clk.t.Add(24 * time.Hour)
	if err := r.Ensure(ctx); err != nil {
		t.Fatal(err)
	}
	s2, _, leaf2 := state(t, r, c)
	if s2.ResourceVersion != s1.ResourceVersion || !leaf2.Equal(leaf1) {
		t.Fatal("the secret was rewritten although nothing was due")
	}

	// 21 of 30 days: less than a third left, the serving certificate is
	// renewed under the same CA.
	clk.t = leaf1.NotBefore.Add(21 * 24 * time.Hour)
	if err := r.Ensure(ctx); err != nil {
		t.Fatal(err)
	}
	s3, bundles, leaf3 := state(t, r, c)
	if leaf3.Equal(leaf1) {
		t.Fatal("serving certificate not renewed with a third of its life left")
	}
	if string(s3.Data[KeyCACert]) != string(s1.Data[KeyCACert]) {
		t.Fatal("CA renewed although it was fresh")
	}
	verify(t, bundles, leaf3, clk.t)

	// 201 of 300 days: the CA is renewed; the bundle keeps the old CA, so
	// a replica still serving the old certificate stays trusted.
	clk.t = leaf1.NotBefore.Add(201 * 24 * time.Hour)
	if err := r.Ensure(ctx); err != nil {
		t.Fatal(err)
	}
	s4, bundles, leaf4 := state(t, r, c)
	if string(s4.Data[KeyCACert]) == string(s1.Data[KeyCACert]) {
		t.Fatal("CA not renewed with a third of its life left")
	}
	if string(s4.Data[KeyPreviousCACert]) != string(s1.Data[KeyCACert]) {
		t.Fatal("the previous CA is not kept in the bundle")
	}
	verify(t, bundles, leaf4, clk.t)

	// Past the old CA's end, it leaves the bundle.
	clk.t = leaf1.NotBefore.Add(301 * 24 * time.Hour)
	if err := r.Ensure(ctx); err != nil {
		t.Fatal(err)
	}
	s5, _, _ := state(t, r, c)
	if _, ok := s5.Data[KeyPreviousCACert]; ok {
		t.Fatal("an expired CA stays in the bundle")
	}
}

// A Secret holding garbage, or a certificate for other names, is replaced.
func TestRotatorRepairs(t *testing.T) {
	r, c, clk := setup(t)
	ctx := context.Background()
	bad := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: "sys", Name: "cert"},
		Data: map[string][]byte{KeyCACert: []byte("junk"), KeyCert: []byte("junk")}}
	if err := c.Create(ctx, bad); err != nil {
		t.Fatal(err)
	}
	if err := r.Ensure(ctx); err != nil {
		t.Fatal(err)
	}
	_, bundles, leaf := state(t, r, c)
	verify(t, bundles, leaf, clk.t)

	r.opts.DNSNames = []string{"renamed.sys.svc"}
	if err := r.Ensure(ctx); err != nil {
		t.Fatal(err)
	}
	_, _, leaf2 := state(t, r, c)
	if leaf2.VerifyHostname("renamed.sys.svc") != nil {
		t.Fatal("certificate not reissued for a new service name")
	}
}

// Without the webhook configuration, the rotator is not ready and says
// where the configuration comes from.
func TestRotatorMissingConfig(t *testing.T) {
	r, _, _ := setup(t)
	r.opts.WebhookConfigs = []string{"nosuch"}
	err := r.Ensure(context.Background())
	if err == nil || r.Ready(nil) == nil {
		t.Fatalf("ready without its webhook configuration (err %v)", err)
	}
}
