package v1alpha1

import (
	"encoding/json"
	"fmt"
	"time"
)

// AnnotationAuthorizations is the pod annotation where the operator, in
// inter-cluster mode, records its decision for each ext-vnet network the pod
// asks for; the agent attaches the pod to such a network only while the
// decision there allows it. Its value is a JSON object keyed by
// "<namespace>/<network>", each value a PodAuthorization. Only the operator
// should write it; see docs/inter-cluster.md, "Threat model", for what a
// user who writes it can do until decisions move to an object users cannot
// write.
const AnnotationAuthorizations = "switchboard.dev/authorizations"

// PodAuthorization is the decision on one pod joining one ext-vnet network.
// +kubebuilder:object:generate=false
type PodAuthorization struct {
	// Allowed is true while the pod may be attached.
	Allowed bool `json:"allowed"`
	// Reason is empty when allowed, else a token reason (Forged, Expired,
	// ...) or an IDCO or operator reason (NotInAccessList, NoToken,
	// RevokedKey, ...).
	Reason string `json:"reason,omitempty"`
	// Detail is a sentence saying what is wrong and how to fix it.
	Detail string `json:"detail,omitempty"`
	// User the token was signed by, when known.
	User string `json:"user,omitempty"`
	// ID of the IDCO's authorization, when allowed.
	ID string `json:"id,omitempty"`
	// Expires is when the authorization ends (the token's expiry).
	Expires *time.Time `json:"expires,omitempty"`
	// PodUID is the UID of the pod the decision was made for. A decision
	// for another UID (an annotation copied from a template) is no
	// decision for this pod.
	PodUID string `json:"podUID,omitempty"`
}

// ConditionNetworksAuthorized is the pod condition the operator sets in
// inter-cluster mode: True when every ext-vnet network the pod asks for
// allows it, False with the first refusal's reason otherwise.
const ConditionNetworksAuthorized = "switchboard.dev/NetworksAuthorized"

// AuthorizationKey is the key of network namespace/name in the annotation.
func AuthorizationKey(namespace, name string) string { return namespace + "/" + name }

// PodAuthorizations reads the annotation from a pod's annotations; a pod
// without it has none.
func PodAuthorizations(annotations map[string]string) (map[string]PodAuthorization, error) {
	v, ok := annotations[AnnotationAuthorizations]
	if !ok || v == "" {
		return map[string]PodAuthorization{}, nil
	}
	out := map[string]PodAuthorization{}
	if err := json.Unmarshal([]byte(v), &out); err != nil {
		return nil, fmt.Errorf("annotation %s is not a JSON object of decisions: %w", AnnotationAuthorizations, err)
	}
	return out, nil
}
