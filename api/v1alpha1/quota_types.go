package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// NetworkQuotaSpec limits what one namespace may use of Switchboard. An
// unset limit is no limit; 0 allows none. The admission webhook refuses a
// Network or pod that would take the namespace's usage above a limit.
type NetworkQuotaSpec struct {
	// MaxNetworks is the most Networks the namespace may hold.
	// +kubebuilder:validation:Minimum=0
	// +optional
	MaxNetworks *int32 `json:"maxNetworks,omitempty"`
	// MaxAttachments is the most secondary-network interfaces the
	// namespace's pods may ask for (elements of their
	// k8s.v1.cni.cncf.io/networks annotations), on any network.
	// +kubebuilder:validation:Minimum=0
	// +optional
	MaxAttachments *int32 `json:"maxAttachments,omitempty"`
	// MaxAddresses is the most addresses those interfaces may hold: each
	// static address a pod names, and one for each interface on a Network
	// with IPAM that names none.
	// +kubebuilder:validation:Minimum=0
	// +optional
	MaxAddresses *int32 `json:"maxAddresses,omitempty"`
}

// NetworkQuotaUsage is what a namespace uses, counted as NetworkQuotaSpec
// says.
type NetworkQuotaUsage struct {
	Networks    int32 `json:"networks"`
	Attachments int32 `json:"attachments"`
	Addresses   int32 `json:"addresses"`
}

// NetworkQuotaStatus is the namespace's usage, as the operator last
// counted it.
type NetworkQuotaStatus struct {
	// ObservedGeneration is the generation the status describes.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`
	// Used is the namespace's usage.
	// +optional
	Used NetworkQuotaUsage `json:"used"`
	// Conditions: Exceeded is True when usage is above a limit (a limit
	// lowered below what is already used: nothing is removed, but nothing
	// more is admitted).
	// +listType=map
	// +listMapKey=type
	// +optional
	Conditions []metav1.Condition `json:"conditions,omitempty"`
}

// Condition type and reasons of a NetworkQuota.
const (
	ConditionExceeded  = "Exceeded"
	ReasonWithinLimits = "WithinLimits"
	ReasonOverLimit    = "OverLimit"
)

// NetworkQuota limits the Networks, secondary interfaces and addresses of
// its namespace. Every NetworkQuota of a namespace is enforced.
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:shortName=sbquota,categories=switchboard
// +kubebuilder:printcolumn:name="Networks",type=string,JSONPath=`.status.used.networks`
// +kubebuilder:printcolumn:name="MaxNetworks",type=integer,JSONPath=`.spec.maxNetworks`
// +kubebuilder:printcolumn:name="Attachments",type=string,JSONPath=`.status.used.attachments`
// +kubebuilder:printcolumn:name="MaxAttachments",type=integer,JSONPath=`.spec.maxAttachments`
// +kubebuilder:printcolumn:name="Addresses",type=string,JSONPath=`.status.used.addresses`
// +kubebuilder:printcolumn:name="MaxAddresses",type=integer,JSONPath=`.spec.maxAddresses`
type NetworkQuota struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec   NetworkQuotaSpec   `json:"spec,omitempty"`
	Status NetworkQuotaStatus `json:"status,omitempty"`
}

// NetworkQuotaList is a list of NetworkQuotas.
// +kubebuilder:object:root=true
type NetworkQuotaList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []NetworkQuota `json:"items"`
}

func init() { SchemeBuilder.Register(&NetworkQuota{}, &NetworkQuotaList{}) }
