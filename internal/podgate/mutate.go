package podgate

import (
	"context"
	"encoding/json"
	"net/http"

	admissionv1 "k8s.io/api/admission/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	"switchboard/api/v1alpha1"
	"switchboard/internal/podnet"
)

// MutatePath is where the operator's webhook server serves Mutator, and
// WebhookConfigName the MutatingWebhookConfiguration (config/deploy/
// webhook.yaml) whose caBundle the operator keeps.
const (
	MutatePath        = "/mutate-pod-networks"
	WebhookConfigName = "switchboard-pod-networks"
)

// +kubebuilder:rbac:groups=admissionregistration.k8s.io,resources=mutatingwebhookconfigurations,verbs=get
// +kubebuilder:rbac:groups=admissionregistration.k8s.io,resources=mutatingwebhookconfigurations,verbs=update,resourceNames=switchboard-pod-networks

// Mutator is the mutating webhook: it gates a pod being created that names
// a network not published yet (see the package comment). It never refuses.
type Mutator struct {
	Networks Networks
}

// Handle implements admission.Handler.
func (m *Mutator) Handle(ctx context.Context, req admission.Request) admission.Response {
	if req.Operation != admissionv1.Create {
		return admission.Allowed("")
	}
	var pod corev1.Pod
	if err := json.Unmarshal(req.Object.Raw, &pod); err != nil {
		return admission.Errored(http.StatusBadRequest, err)
	}
	if pod.Namespace == "" {
		pod.Namespace = req.Namespace
	}
	if pod.Spec.NodeName != "" || Gated(&pod) {
		return admission.Allowed("") // bound already (gates are for the scheduler), or gated
	}
	refs, err := Unpublished(ctx, m.Networks, &pod)
	if err != nil {
		// Fail open, as the configuration does when the webhook is down.
		return admission.Allowed("").WithWarnings("switchboard: could not check the pod's networks (" + err.Error() + "); not holding it back")
	}
	if len(refs) == 0 {
		return admission.Allowed("")
	}
	gated := pod.DeepCopy()
	gated.Spec.SchedulingGates = append(gated.Spec.SchedulingGates, corev1.PodSchedulingGate{Name: Gate})
	if gated.Labels == nil {
		gated.Labels = map[string]string{}
	}
	gated.Labels[Label] = "true"
	raw, err := json.Marshal(gated)
	if err != nil {
		return admission.Errored(http.StatusInternalServerError, err)
	}
	return admission.PatchResponseFromRaw(req.Object.Raw, raw)
}

// nadGVK is Multus's NetworkAttachmentDefinition, read as an unstructured
// object (as the operator does), so that this package needs no NAD client.
var nadGVK = schema.GroupVersionKind{Group: "k8s.cni.cncf.io", Version: "v1", Kind: "NetworkAttachmentDefinition"}

func newNAD() *unstructured.Unstructured {
	u := &unstructured.Unstructured{}
	u.SetGroupVersionKind(nadGVK)
	return u
}

// ClientNetworks reads Networks and NADs with a controller-runtime reader
// (the operator's cache).
type ClientNetworks struct{ Reader client.Reader }

// Network implements Networks.
func (c ClientNetworks) Network(ctx context.Context, ref podnet.Ref) (bool, error) {
	return exists(c.Reader.Get(ctx, types.NamespacedName{Namespace: ref.Namespace, Name: ref.Name}, &v1alpha1.Network{}))
}

// NAD implements Networks.
func (c ClientNetworks) NAD(ctx context.Context, ref podnet.Ref) (bool, error) {
	return exists(c.Reader.Get(ctx, types.NamespacedName{Namespace: ref.Namespace, Name: ref.Name}, newNAD()))
}

func exists(err error) (bool, error) {
	switch {
	case err == nil:
		return true, nil
	case apierrors.IsNotFound(err):
		return false, nil
	}
	return false, err
}
