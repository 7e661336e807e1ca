package podgate

import (
	"context"
	"strings"
	"testing"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	"switchboard/config"
	"switchboard/internal/apiservertest"
)

// TestShippedWebhookAccepted: a real kube-apiserver accepts the shipped
// MutatingWebhookConfiguration, whose matchConditions (CEL, compiled by the
// API server at create) leave out pods without the networks annotation and
// pods placed by spec.nodeName.
func TestShippedWebhookAccepted(t *testing.T) {
	all, err := config.Manifests(config.Params{ClusterCIDR: "10.244.0.0/16", ServiceCIDR: "10.96.0.0/12"})
	if err != nil {
		t.Fatal(err)
	}
	var c *admissionregistrationv1.MutatingWebhookConfiguration
	for _, doc := range strings.Split(all, "\n---\n") {
		if strings.Contains(doc, "kind: MutatingWebhookConfiguration") {
			c = &admissionregistrationv1.MutatingWebhookConfiguration{}
			if err := yaml.UnmarshalStrict([]byte(doc), c); err != nil {
				t.Fatal(err)
			}
		}
	}
	if c == nil || c.Name != WebhookConfigName {
		t.Fatalf("no MutatingWebhookConfiguration %s in the manifests", WebhookConfigName)
	}
	var conds []string
	for i := range c.Webhooks {
		cc := &c.Webhooks[i].ClientConfig
		cc.URL, cc.Service = ptr.To("https://127.0.0.1:9"+MutatePath), nil
		for _, m := range c.Webhooks[i].MatchConditions {
			conds = append(conds, m.Name)
		}
	}
	if !strings.Contains(strings.Join(conds, ","), "not-bound") {
		t.Errorf("match conditions %v: want one leaving out pods placed by spec.nodeName", conds)
	}
	scheme := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	srv := apiservertest.ForTest(t, scheme)
	k8s, err := client.New(srv.Config, client.Options{Scheme: scheme})
	if err != nil {
		t.Fatal(err)
	}
	if err := k8s.Create(context.Background(), c); err != nil {
		t.Fatalf("the API server refuses the shipped configuration: %v", err)
	}
}
