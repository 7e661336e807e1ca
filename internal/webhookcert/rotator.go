package webhookcert

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"maps"
	"net"
	"net/http"
	"reflect"
	"strings"
	"sync/atomic"
	"time"

	"github.com/go-logr/logr"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// Keys of the Secret.
const (
	KeyCACert         = "ca.crt"
	KeyCAKey          = "ca.key"
	KeyCert           = "tls.crt"
	KeyKey            = "tls.key"
	KeyPreviousCACert = "ca-previous.crt" // the CA before the last renewal, until it expires
)

// Options say what Rotator manages.
type Options struct {
	// Namespace and SecretName name the Secret that holds the CA and the
	// serving certificate (created if missing).
	Namespace, SecretName string
	// WebhookConfigs are the ValidatingWebhookConfigurations, and
	// MutatingWebhookConfigs the MutatingWebhookConfigurations, whose
	// webhooks' clientConfig.caBundle Rotator sets to its CA.
	WebhookConfigs, MutatingWebhookConfigs []string
	// DNSNames and IPs are what the serving certificate names: the
	// webhook Service's DNS names (svc.ns.svc, svc.ns.svc.cluster.local),
	// or an address for a webhook reached by URL.
	DNSNames []string
	IPs      []net.IP
	// Lifetimes: CAValidity defaults to one year, CertValidity to 90 days;
	// each is renewed with a third of it left. CheckEvery (default one
	// hour) is how often the Secret is re-read and renewal considered.
	CAValidity, CertValidity, CheckEvery time.Duration
	// Now is the clock (default time.Now).
	Now func() time.Time
	Log logr.Logger
}

// Rotator keeps the webhook's certificates; see the package comment. It
// is a controller-runtime Runnable that every replica runs (no leader
// election: every replica serves the webhook). Its methods are safe for
// concurrent use.
type Rotator struct {
	opts Options
	// reader reads the Secret and the webhook configurations directly from
	// the API server: a cache would watch every Secret of the cluster.
	reader client.Reader
	writer client.Writer
	cert   atomic.Pointer[tls.Certificate]
	ready  atomic.Bool
}

// New returns a Rotator that reads with reader and writes with writer.
func New(reader client.Reader, writer client.Writer, o Options) *Rotator {
	if o.CAValidity == 0 {
		o.CAValidity = 365 * 24 * time.Hour
	}
	if o.CertValidity == 0 {
		o.CertValidity = 90 * 24 * time.Hour
	}
	if o.CheckEvery == 0 {
		o.CheckEvery = time.Hour
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return &Rotator{opts: o, reader: reader, writer: writer}
}

// GetCertificate serves the current certificate (tls.Config.GetCertificate).
func (r *Rotator) GetCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	if c := r.cert.Load(); c != nil {
		return c, nil
	}
	return nil, errors.New("no webhook serving certificate yet")
}

// Ready is a healthz.Checker: ready once a certificate is loaded and the
// webhook configurations trust its CA.
func (r *Rotator) Ready(*http.Request) error {
	if !r.ready.Load() {
		return errors.New("webhook certificate not in place yet")
	}
	return nil
}

// NeedLeaderElection is false: every replica serves the webhook.
func (r *Rotator) NeedLeaderElection() bool { return false }

// Start ensures the certificates at once, then every CheckEvery; after a
// failure it retries sooner (5 s, doubling up to CheckEvery).
func (r *Rotator) Start(ctx context.Context) error {
	retry := 5 * time.Second
	for {
		wait := r.opts.CheckEvery
		if err := r.Ensure(ctx); err != nil {
			r.opts.Log.Error(err, "webhook certificate", "secret", r.opts.Namespace+"/"+r.opts.SecretName)
			wait, retry = retry, min(2*retry, r.opts.CheckEvery)
		} else {
			retry = 5 * time.Second
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(wait):
		}
	}
}

// Ensure makes the Secret hold a fresh CA and serving certificate
// (renewing what needs it), serves the certificate, and sets the
// webhook configurations' caBundle. Two replicas racing both read the
// winner's Secret on their next call: a write that loses is an error.
func (r *Rotator) Ensure(ctx context.Context) error {
	s := &corev1.Secret{}
	key := client.ObjectKey{Namespace: r.opts.Namespace, Name: r.opts.SecretName}
	err := r.reader.Get(ctx, key, s)
	exists := err == nil
	if err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("get secret %s: %w", key, err)
	}
	data := maps.Clone(s.Data)
	if data == nil {
		data = map[string][]byte{}
	}
	changed, err := r.renew(data)
	if err != nil {
		return err
	}
	if changed {
		if err := r.write(ctx, s, exists, data); err != nil {
			return err
		}
	}
	cert, err := tls.X509KeyPair(data[KeyCert], data[KeyKey])
	if err != nil {
		return fmt.Errorf("load serving certificate of secret %s: %w", key, err)
	}
	r.cert.Store(&cert)
	if err := r.patchBundles(ctx, append(bytes.Clone(data[KeyCACert]), data[KeyPreviousCACert]...)); err != nil {
		return err
	}
	r.ready.Store(true)
	return nil
}

// renew updates data in place where a certificate is missing, invalid or
// due for renewal, and reports whether it changed anything.
func (r *Rotator) renew(data map[string][]byte) (bool, error) {
	now := r.opts.Now()
	changed := false
	ca, err := parsePair(data[KeyCACert], data[KeyCAKey])
	if err != nil || !fresh(ca.cert, now) {
		next, err := newCA(now, r.opts.CAValidity)
		if err != nil {
			return false, err
		}
		delete(data, KeyPreviousCACert)
		if ca != nil && now.Before(ca.cert.NotAfter) {
			data[KeyPreviousCACert] = ca.certPEM
		}
		ca, changed = next, true
		data[KeyCACert], data[KeyCAKey] = ca.certPEM, ca.keyPEM
		r.opts.Log.Info("made a new webhook CA", "notAfter", ca.cert.NotAfter)
	}
	if prev, ok := data[KeyPreviousCACert]; ok {
		if c, err := parseCert(prev); err != nil || !now.Before(c.NotAfter) {
			delete(data, KeyPreviousCACert)
			changed = true
		}
	}
	srv, err := parsePair(data[KeyCert], data[KeyKey])
	if err != nil || !fresh(srv.cert, now) || !covers(srv.cert, ca.cert, r.opts.DNSNames, r.opts.IPs) {
		srv, err := newServing(ca, r.opts.DNSNames, r.opts.IPs, now, r.opts.CertValidity)
		if err != nil {
			return false, err
		}
		data[KeyCert], data[KeyKey] = srv.certPEM, srv.keyPEM
		changed = true
		r.opts.Log.Info("made a new webhook serving certificate", "notAfter", srv.cert.NotAfter)
	}
	return changed, nil
}

// write stores data in the Secret s (created if it did not exist).
func (r *Rotator) write(ctx context.Context, s *corev1.Secret, exists bool, data map[string][]byte) error {
	if !exists {
		s = &corev1.Secret{
			ObjectMeta: metav1.ObjectMeta{Namespace: r.opts.Namespace, Name: r.opts.SecretName,
				Labels: map[string]string{"app.kubernetes.io/managed-by": "switchboard-operator"}},
			Type: corev1.SecretTypeOpaque,
			Data: data,
		}
		if err := r.writer.Create(ctx, s); err != nil {
			return fmt.Errorf("create secret %s/%s: %w", s.Namespace, s.Name, err)
		}
		return nil
	}
	s.Data = data
	if err := r.writer.Update(ctx, s); err != nil {
		return fmt.Errorf("update secret %s/%s: %w", s.Namespace, s.Name, err)
	}
	return nil
}

// patchBundles sets every webhook's caBundle in the configurations.
func (r *Rotator) patchBundles(ctx context.Context, bundle []byte) error {
	for _, name := range r.opts.WebhookConfigs {
		var c admissionregistrationv1.ValidatingWebhookConfiguration
		if err := r.patchBundle(ctx, name, &c, bundle, func() []*[]byte {
			return caBundles(c.Webhooks, func(w *admissionregistrationv1.ValidatingWebhook) *[]byte { return &w.ClientConfig.CABundle })
		}); err != nil {
			return err
		}
	}
	for _, name := range r.opts.MutatingWebhookConfigs {
		var c admissionregistrationv1.MutatingWebhookConfiguration
		if err := r.patchBundle(ctx, name, &c, bundle, func() []*[]byte {
			return caBundles(c.Webhooks, func(w *admissionregistrationv1.MutatingWebhook) *[]byte { return &w.ClientConfig.CABundle })
		}); err != nil {
			return err
		}
	}
	return nil
}

// caBundles points at the caBundle of every webhook of a configuration.
func caBundles[W any](webhooks []W, bundle func(*W) *[]byte) []*[]byte {
	out := make([]*[]byte, len(webhooks))
	for i := range webhooks {
		out[i] = bundle(&webhooks[i])
	}
	return out
}

// patchBundle reads the webhook configuration name into c, sets every
// caBundle that bundles (called after the read) points to, and writes c
// back if that changed anything.
func (r *Rotator) patchBundle(ctx context.Context, name string, c client.Object, bundle []byte, bundles func() []*[]byte) error {
	kind := strings.ToLower(reflect.TypeOf(c).Elem().Name())
	if err := r.reader.Get(ctx, client.ObjectKey{Name: name}, c); err != nil {
		return fmt.Errorf("get %s %s (installed from config/deploy/webhook.yaml): %w", kind, name, err)
	}
	changed := false
	for _, b := range bundles() {
		if !bytes.Equal(*b, bundle) {
			*b = bundle
			changed = true
		}
	}
	if !changed {
		return nil
	}
	if err := r.writer.Update(ctx, c); err != nil {
		return fmt.Errorf("set caBundle of %s %s: %w", kind, name, err)
	}
	r.opts.Log.Info("set the webhook configuration's caBundle", "configuration", name, "kind", kind)
	return nil
}
