package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// NetworkType says what kind of network a Network is.
// +kubebuilder:validation:Enum=vnet;vlink;ext-vnet
type NetworkType string

const (
	// VNet is a virtual L2 network spanning the cluster's nodes.
	VNet NetworkType = "vnet"
	// VLink is a point-to-point link between two pods (reserved).
	VLink NetworkType = "vlink"
	// ExtVNet is a vnet that also spans other clusters, through each
	// cluster's edge device, for the users that its access lists and its
	// provider (the inter-domain connectivity orchestrator) authorize.
	ExtVNet NetworkType = "ext-vnet"
)

// NetworkSpec is what the network's owner asks for.
// +kubebuilder:validation:XValidation:rule="self.type != 'ext-vnet' || has(self.provider)",message="an ext-vnet network needs spec.provider (the IDCO's name and domain)"
// +kubebuilder:validation:XValidation:rule="!has(self.provider) || self.type == 'ext-vnet'",message="spec.provider is only for type ext-vnet"
// +kubebuilder:validation:XValidation:rule="!has(self.accessList) || self.type == 'ext-vnet'",message="spec.accessList is only for type ext-vnet"
type NetworkSpec struct {
	// Type of network. Only vnet is implemented in this version.
	// +kubebuilder:default=vnet
	// +optional
	Type NetworkType `json:"type,omitempty"`

	// IPAM gives pods addresses from a pool. Without it the network is pure
	// L2 and pods get no address unless the pod's annotation names one.
	// +optional
	IPAM *IPAM `json:"ipam,omitempty"`

	// MTU of the pods' interfaces on this network. 0 (the default) derives
	// it from the node's underlay MTU minus the VXLAN overhead.
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=9000
	// +kubebuilder:validation:XValidation:rule="self == 0 || self >= 1280",message="mtu must be 0 (automatic) or at least 1280"
	// +optional
	MTU int32 `json:"mtu,omitempty"`

	// SharedWith lists other namespaces whose pods may join this network;
	// "*" shares it with every namespace. Pods in the network's own
	// namespace may always join.
	// +listType=set
	// +optional
	SharedWith []string `json:"sharedWith,omitempty"`

	// Provider is the inter-domain connectivity orchestrator (IDCO) that
	// joins this network's segments in every cluster that has it. Required
	// for, and only for, type ext-vnet; the same in every cluster.
	// +optional
	Provider *Provider `json:"provider,omitempty"`

	// AccessList names the users who may put pods on this ext-vnet network,
	// each with the public key their tokens are signed with. It may differ
	// per cluster. Empty leaves the network open here: then the provider's
	// own per-user permissions decide.
	// +kubebuilder:validation:MaxItems=256
	// +listType=map
	// +listMapKey=user
	// +optional
	AccessList []AccessEntry `json:"accessList,omitempty"`

	// Bandwidth limits every pod interface on the network, in each
	// direction (see NetworkBandwidth). Changes reach running pods.
	// +optional
	Bandwidth *NetworkBandwidth `json:"bandwidth,omitempty"`
}

// Provider names an inter-domain connectivity orchestrator.
type Provider struct {
	// Name of the IDCO, as its operator calls it: a DNS label (lower-case
	// letters, digits and '-'), which also names the directory of the
	// cluster's client certificate for it in the operator's certificate
	// directory.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=63
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`
	Name string `json:"name"`
	// Domain is where the IDCO is reached: host:port of its HTTPS API.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	Domain string `json:"domain"`
}

// AccessEntry lets one user join an ext-vnet network.
type AccessEntry struct {
	// User is the user's identifier, as in the tokens they sign.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	User string `json:"user"`
	// PublicKey is the user's public key (Ed25519 or ECDSA P-256) in PEM,
	// as written by "switchboard keys new".
	// +kubebuilder:validation:MaxLength=1024
	// +kubebuilder:validation:XValidation:rule="self.startsWith('-----BEGIN PUBLIC KEY-----')",message="publicKey must be a PEM public key (-----BEGIN PUBLIC KEY-----), as in the .pub file that switchboard keys new writes"
	PublicKey string `json:"publicKey"`
}

// IPAM is a network's address pool (IPv4 or IPv6).
// +kubebuilder:validation:XValidation:rule="!has(self.gateway) || cidr(self.cidr).containsIP(self.gateway)",message="gateway must be inside cidr"
type IPAM struct {
	// CIDR of the network, e.g. 10.20.0.0/24 or fd00:20::/64.
	// +kubebuilder:validation:XValidation:rule="isCIDR(self)",message="cidr must be a CIDR such as 10.20.0.0/24"
	// +kubebuilder:validation:MaxLength=43
	CIDR string `json:"cidr"`

	// Ranges to allocate from, inside cidr. Empty: the whole cidr, less the
	// network and (IPv4) broadcast addresses.
	// +kubebuilder:validation:MaxItems=16
	// +optional
	Ranges []IPRange `json:"ranges,omitempty"`

	// Exclude addresses or CIDRs from allocation.
	// +kubebuilder:validation:MaxItems=64
	// +optional
	Exclude []string `json:"exclude,omitempty"`

	// Gateway address, never allocated to a pod; given to pods as their
	// route to the network's gateway if set.
	// +kubebuilder:validation:XValidation:rule="isIP(self)",message="gateway must be an IP address"
	// +optional
	Gateway string `json:"gateway,omitempty"`
}

// IPRange is an inclusive range of addresses.
// +kubebuilder:validation:XValidation:rule="isIP(self.start) && isIP(self.end)",message="range start and end must be IP addresses"
type IPRange struct {
	// Start is the first address of the range. The length limit (the
	// longest IPv6 text form) keeps the CEL rule within the API server's
	// cost budget.
	// +kubebuilder:validation:MaxLength=45
	Start string `json:"start"`
	// End is the last address of the range, included.
	// +kubebuilder:validation:MaxLength=45
	End string `json:"end"`
}

// Condition types and reasons of a Network.
const (
	// ConditionReady is True when pods can join the network.
	ConditionReady = "Ready"
	// ConditionInUse is True while pods are attached; it names them when
	// the network is being deleted.
	ConditionInUse = "InUse"
	// ConditionWANEncrypted says, for an ext-vnet network that an edge of
	// this cluster carries, whether it crosses the WAN inside WireGuard
	// (True) or as plain VXLAN (False: the edge runs with
	// --insecure-plain-vxlan-wan).
	ConditionWANEncrypted = "WANEncrypted"

	ReasonReady           = "Ready"
	ReasonUnsupportedType = "UnsupportedType"
	ReasonInvalidSpec     = "InvalidSpec"
	ReasonVNIExhausted    = "VNIExhausted"
	ReasonAttached        = "PodsAttached"
	ReasonNoPods          = "NoPods"
	ReasonDeleteDeferred  = "DeleteDeferred"
	// ext-vnet: registered with the provider, or not (yet).
	ReasonRegistered         = "Registered"
	ReasonRegistrationFailed = "RegistrationFailed"
	// ext-vnet: another Network of the same name (in another namespace)
	// holds this cluster's registration at the provider; this one is not
	// registered, and the holder is left as it is.
	ReasonNameConflict = "NameConflict"
	// ext-vnet: spec.provider is not in the operator's
	// --allowed-providers.
	ReasonProviderNotAllowed = "ProviderNotAllowed"
	// ext-vnet: this cluster's registration removed from the provider (an
	// event), or the provider could not be reached to remove it, which
	// holds up the deletion.
	ReasonDeregistered         = "Deregistered"
	ReasonDeregistrationFailed = "DeregistrationFailed"
	// ext-vnet: how the edges carry the network on the WAN.
	ReasonWireGuard  = "WireGuard"
	ReasonPlainVXLAN = "InsecurePlainVXLAN"
)

// NetworkStatus is what the operator observed and decided.
type NetworkStatus struct {
	// ObservedGeneration is the generation the status describes.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`

	// VNI is the network's VXLAN network identifier, unique in the cluster.
	// +optional
	VNI int32 `json:"vni,omitempty"`

	// InterClusterVNI is the identifier the provider gave an ext-vnet
	// network, the same in every cluster that has it.
	// +optional
	InterClusterVNI int32 `json:"interClusterVNI,omitempty"`

	// RegisteredProvider is the provider that holds this cluster's
	// registration of an ext-vnet network. The operator deregisters the
	// network from it before the network goes, and when spec.provider
	// names another provider or the network is no longer of type ext-vnet.
	// +optional
	RegisteredProvider *Provider `json:"registeredProvider,omitempty"`

	// Attachments is the number of pod interfaces on the network.
	// +optional
	Attachments int32 `json:"attachments"`

	// Conditions: Ready and InUse.
	// +listType=map
	// +listMapKey=type
	// +optional
	Conditions []metav1.Condition `json:"conditions,omitempty"`
}

// Network is an isolated virtual network that pods join with the
// k8s.v1.cni.cncf.io/networks annotation.
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:shortName=sbnet,categories=switchboard
// +kubebuilder:printcolumn:name="Type",type=string,JSONPath=`.spec.type`
// +kubebuilder:printcolumn:name="CIDR",type=string,JSONPath=`.spec.ipam.cidr`
// +kubebuilder:printcolumn:name="VNI",type=integer,JSONPath=`.status.vni`
// +kubebuilder:printcolumn:name="Pods",type=integer,JSONPath=`.status.attachments`
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Reason",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].reason`
type Network struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec   NetworkSpec   `json:"spec,omitempty"`
	Status NetworkStatus `json:"status,omitempty"`
}

// NetworkList is a list of Networks.
// +kubebuilder:object:root=true
type NetworkList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []Network `json:"items"`
}

func init() { SchemeBuilder.Register(&Network{}, &NetworkList{}) }
