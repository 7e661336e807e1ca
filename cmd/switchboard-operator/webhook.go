package main

import (
	"fmt"
	"os"

	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/webhook"

	"switchboard/internal/admission"
	"switchboard/internal/podgate"
	"switchboard/internal/webhookcert"
)

// newRotator manages the webhook's certificate for the Service in
// namespace. It reads and writes through a client without a cache: a
// cache would watch every Secret of the cluster.
func newRotator(cfg *rest.Config, scheme *runtime.Scheme, namespace string) (*webhookcert.Rotator, error) {
	c, err := client.New(cfg, client.Options{Scheme: scheme})
	if err != nil {
		return nil, fmt.Errorf("create client for the webhook certificate: %w", err)
	}
	svc := admission.ServiceName + "." + namespace
	return webhookcert.New(c, c, webhookcert.Options{
		Namespace:              namespace,
		SecretName:             admission.SecretName,
		WebhookConfigs:         []string{admission.WebhookConfigName},
		MutatingWebhookConfigs: []string{podgate.WebhookConfigName},
		DNSNames:               []string{svc + ".svc", svc + ".svc.cluster.local", svc},
		Log:                    ctrl.Log.WithName("webhook-cert"),
	}), nil
}

// setupWebhook adds the rotator and the admission checks to mgr; the
// operator is ready only once the webhook serves a certificate its
// configuration trusts.
func setupWebhook(mgr ctrl.Manager, rot *webhookcert.Rotator) error {
	if err := mgr.Add(rot); err != nil {
		return fmt.Errorf("add webhook certificate rotator: %w", err)
	}
	if err := admission.Setup(mgr); err != nil {
		return err
	}
	mgr.GetWebhookServer().Register(podgate.MutatePath, &webhook.Admission{Handler: &podgate.Mutator{Networks: podgate.ClientNetworks{Reader: mgr.GetCache()}}})
	if err := podgate.Setup(mgr); err != nil {
		return fmt.Errorf("set up the scheduling gate of pods: %w", err)
	}
	if err := mgr.AddReadyzCheck("webhook-certificate", rot.Ready); err != nil {
		return fmt.Errorf("add webhook readiness check: %w", err)
	}
	if err := mgr.AddReadyzCheck("webhook-server", mgr.GetWebhookServer().StartedChecker()); err != nil {
		return fmt.Errorf("add webhook readiness check: %w", err)
	}
	return nil
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}
