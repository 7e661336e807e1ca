package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Labels on Authorizations, so that a pod's record is found by its name.
const (
	LabelPodNamespace = "switchboard.dev/pod-namespace"
	LabelPodName      = "switchboard.dev/pod-name"
)

// NetworkDecision is the operator's decision on one pod joining one
// ext-vnet network.
type NetworkDecision struct {
	// Network is "<namespace>/<name>" of the ext-vnet Network.
	Network string `json:"network"`
	// Allowed is true while the pod may be attached.
	Allowed bool `json:"allowed"`
	// Reason is empty when allowed, else a token reason (Forged, Expired,
	// ...) or an IDCO or operator reason (NotInAccessList, NoToken,
	// RevokedKey, ...).
	// +optional
	Reason string `json:"reason,omitempty"`
	// Detail is a sentence saying what is wrong and how to fix it.
	// +optional
	Detail string `json:"detail,omitempty"`
	// User the pod's token was signed by, when known.
	// +optional
	User string `json:"user,omitempty"`
	// ID of the IDCO's authorization, when allowed.
	// +optional
	ID string `json:"id,omitempty"`
	// Expires is when the authorization ends (the token's expiry).
	// +optional
	Expires *metav1.Time `json:"expires,omitempty"`
	// DecidedAt is when the operator made (or last changed) the decision.
	// +optional
	DecidedAt *metav1.Time `json:"decidedAt,omitempty"`
}

// AuthorizationSpec is the record of the operator's decisions for one pod.
type AuthorizationSpec struct {
	// Pod the decisions are for. Agents attach only the pod with this UID.
	Pod PodRef `json:"pod"`
	// Networks holds one decision per ext-vnet network the pod asks for.
	// +optional
	// +listType=map
	// +listMapKey=network
	Networks []NetworkDecision `json:"networks,omitempty"`
}

// Authorization records whether a pod may join the ext-vnet networks it
// asks for. Only switchboard-operator (in inter-cluster mode) writes it;
// the agents read it before they attach a pod to an ext-vnet network.
// It is cluster-scoped and named by the pod's UID, so that a user who may
// edit pods (or anything else in their namespace) cannot write or forge
// it, and a pod recreated under the same name is a different record. See
// docs/inter-cluster.md, "Threat model".
// +kubebuilder:object:root=true
// +kubebuilder:resource:scope=Cluster,categories=switchboard
// +kubebuilder:printcolumn:name="Namespace",type=string,JSONPath=`.spec.pod.namespace`
// +kubebuilder:printcolumn:name="Pod",type=string,JSONPath=`.spec.pod.name`
// +kubebuilder:printcolumn:name="Network",type=string,JSONPath=`.spec.networks[*].network`
// +kubebuilder:printcolumn:name="Allowed",type=string,JSONPath=`.spec.networks[*].allowed`
// +kubebuilder:printcolumn:name="Reason",type=string,JSONPath=`.spec.networks[*].reason`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type Authorization struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec AuthorizationSpec `json:"spec"`
}

// AuthorizationList is a list of Authorizations.
// +kubebuilder:object:root=true
type AuthorizationList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []Authorization `json:"items"`
}

// Decision returns the decision on network ("<namespace>/<name>"), if any.
func (s *AuthorizationSpec) Decision(network string) (NetworkDecision, bool) {
	for _, d := range s.Networks {
		if d.Network == network {
			return d, true
		}
	}
	return NetworkDecision{}, false
}

func init() { SchemeBuilder.Register(&Authorization{}, &AuthorizationList{}) }
