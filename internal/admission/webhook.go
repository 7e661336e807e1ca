package admission

import (
	"context"
	"errors"
	"net/http"

	admissionv1 "k8s.io/api/admission/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/webhook"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	sbv1 "switchboard/api/v1alpha1"
	"switchboard/internal/podnet"
)

// Paths the webhook server serves; config/deploy/webhook.yaml names them.
const (
	PodsPath     = "/validate-pods"
	NetworksPath = "/validate-networks"
)

// Server is where the handlers are registered (a controller-runtime
// webhook server).
type Server interface {
	Register(path string, hook http.Handler)
}

// Register serves v's checks on srv at PodsPath and NetworksPath.
func Register(srv Server, scheme *runtime.Scheme, v *Validator) {
	dec := admission.NewDecoder(scheme)
	srv.Register(PodsPath, &webhook.Admission{Handler: &podHandler{v: v, dec: dec}})
	srv.Register(NetworksPath, &webhook.Admission{Handler: &networkHandler{v: v, dec: dec}})
}

// respond turns a Validator's answer into an admission response: a
// Refusal is a denial with its reasons; any other error is the webhook's
// failure (the API server applies the failure policy).
func respond(err error) admission.Response {
	var r *Refusal
	switch {
	case errors.As(err, &r):
		return admission.Denied(r.Error())
	case err != nil:
		return admission.Errored(http.StatusInternalServerError, err)
	}
	return admission.Allowed("")
}

type podHandler struct {
	v   *Validator
	dec admission.Decoder
}

// Handle validates a pod's networks annotation on create, and on update
// only when the annotation changed (the rest of a pod is not ours to
// judge).
func (h *podHandler) Handle(ctx context.Context, req admission.Request) admission.Response {
	pod := &corev1.Pod{}
	if err := h.dec.Decode(req, pod); err != nil {
		return admission.Errored(http.StatusBadRequest, err)
	}
	var old *corev1.Pod
	if req.Operation == admissionv1.Update {
		old = &corev1.Pod{}
		if err := h.dec.DecodeRaw(req.OldObject, old); err != nil {
			return admission.Errored(http.StatusBadRequest, err)
		}
		if old.Annotations[podnet.Annotation] == pod.Annotations[podnet.Annotation] {
			return admission.Allowed("")
		}
	}
	if pod.Namespace == "" { // a create's object may leave it to the request
		pod.Namespace = req.Namespace
	}
	if err := h.v.ValidatePod(ctx, pod); err != nil {
		return respond(err)
	}
	return respond(h.v.CheckPodQuota(ctx, pod, old))
}

type networkHandler struct {
	v   *Validator
	dec admission.Decoder
}

// Handle enforces NetworkQuota's maxNetworks on a Network's create.
func (h *networkHandler) Handle(ctx context.Context, req admission.Request) admission.Response {
	if req.Operation != admissionv1.Create {
		return admission.Allowed("")
	}
	n := &sbv1.Network{}
	if err := h.dec.Decode(req, n); err != nil {
		return admission.Errored(http.StatusBadRequest, err)
	}
	if n.Namespace == "" {
		n.Namespace = req.Namespace
	}
	return respond(h.v.CheckNetworkQuota(ctx, n))
}
