package admission

import (
	"fmt"

	ctrl "sigs.k8s.io/controller-runtime"
)

// Names of the objects config/deploy/webhook.yaml installs.
const (
	// WebhookConfigName is the ValidatingWebhookConfiguration.
	WebhookConfigName = "switchboard-admission"
	// ServiceName is the Service in front of the operator's webhook port.
	ServiceName = "switchboard-operator-webhook"
	// SecretName holds the webhook's CA and serving certificate.
	SecretName = "switchboard-webhook-cert"
)

// The rotator (package webhookcert) reads the configuration and writes its
// caBundle; its Secret is granted by a Role in the operator's namespace
// only (config/deploy/operator.yaml), not cluster-wide.
// +kubebuilder:rbac:groups=admissionregistration.k8s.io,resources=validatingwebhookconfigurations,verbs=get
// +kubebuilder:rbac:groups=admissionregistration.k8s.io,resources=validatingwebhookconfigurations,verbs=update,resourceNames=switchboard-admission

// Setup serves the checks on mgr's webhook server and adds the
// NetworkQuota status controller. The Validator reads mgr's cache.
func Setup(mgr ctrl.Manager) error {
	v := &Validator{Reader: mgr.GetClient()}
	Register(mgr.GetWebhookServer(), mgr.GetScheme(), v)
	q := &QuotaReconciler{Client: mgr.GetClient(), Validator: v}
	if err := q.SetupWithManager(mgr); err != nil {
		return fmt.Errorf("set up networkquota controller: %w", err)
	}
	return nil
}
