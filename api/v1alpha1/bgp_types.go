package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// BGPFamily is an address family a BGP session carries.
// +kubebuilder:validation:Enum=ipv4-unicast;ipv6-unicast
type BGPFamily string

const (
	BGPIPv4Unicast BGPFamily = "ipv4-unicast"
	BGPIPv6Unicast BGPFamily = "ipv6-unicast"
)

// BGPPeerSpec is one router the nodes speak BGP to. Each selected node's
// agent opens the session itself (the speaker never accepts one), from the
// node's own address, and announces what the BGPAdvertisements give it.
type BGPPeerSpec struct {
	// Address of the router, IPv4 or IPv6, e.g. 198.18.0.1. It must be
	// reachable from the nodes' underlay address.
	// +kubebuilder:validation:MaxLength=45
	// +kubebuilder:validation:XValidation:rule="isIP(self)",message="address must be an IP address such as 198.18.0.1"
	Address string `json:"address"`

	// ASN is the router's autonomous system number.
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=4294967295
	ASN int64 `json:"asn"`

	// MyASN is the nodes' own autonomous system number on this session:
	// equal to asn for iBGP, different for eBGP.
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=4294967295
	MyASN int64 `json:"myASN"`

	// Port of the router's BGP listener. 0 (the default) is 179.
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=65535
	// +optional
	Port int32 `json:"port,omitempty"`

	// PasswordSecret names the TCP MD5 password (RFC 2385) of the session:
	// a key of a Secret in Switchboard's own namespace (where the agent
	// runs), so that only the cluster's administrators can set it.
	// +optional
	PasswordSecret *BGPSecretKey `json:"passwordSecret,omitempty"`

	// NodeSelector picks the nodes that open this session; empty or absent:
	// every node.
	// +optional
	NodeSelector *metav1.LabelSelector `json:"nodeSelector,omitempty"`

	// Families the session carries; empty: ipv4-unicast.
	// +kubebuilder:validation:MaxItems=2
	// +listType=set
	// +optional
	Families []BGPFamily `json:"families,omitempty"`

	// HoldTimeSeconds of the session; 0 (the default) is 90.
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=65535
	// +kubebuilder:validation:XValidation:rule="self == 0 || self >= 3",message="holdTimeSeconds must be 0 (default 90) or at least 3"
	// +optional
	HoldTimeSeconds int32 `json:"holdTimeSeconds,omitempty"`

	// TTLSecurityHops turns on the Generalized TTL Security Mechanism (RFC
	// 5082): the node sends with TTL 255 and accepts only segments that
	// crossed at most this many hops (1: a directly connected router).
	// The router must be configured alike (FRR: neighbor X ttl-security
	// hops N). 0 (the default) is off.
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=254
	// +optional
	TTLSecurityHops int32 `json:"ttlSecurityHops,omitempty"`

	// RestartTimeSeconds is the graceful restart time (RFC 4724) the nodes
	// advertise: how long the router keeps a node's routes while its agent
	// restarts. 0 (the default) is 120.
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=4095
	// +optional
	RestartTimeSeconds int32 `json:"restartTimeSeconds,omitempty"`
}

// BGPSecretKey is one key of a Secret in Switchboard's namespace.
type BGPSecretKey struct {
	// Name of the Secret.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	Name string `json:"name"`
	// Key in the Secret's data; empty: "password".
	// +kubebuilder:validation:MaxLength=253
	// +optional
	Key string `json:"key,omitempty"`
}

// BGPPeer is a router that Switchboard's nodes announce routes to. It is
// cluster-scoped: only the cluster's administrators add peers, and nodes
// never accept sessions that no BGPPeer names.
// +kubebuilder:object:root=true
// +kubebuilder:resource:scope=Cluster,categories=switchboard
// +kubebuilder:printcolumn:name="Address",type=string,JSONPath=`.spec.address`
// +kubebuilder:printcolumn:name="ASN",type=integer,JSONPath=`.spec.asn`
// +kubebuilder:printcolumn:name="MyASN",type=integer,JSONPath=`.spec.myASN`
type BGPPeer struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec BGPPeerSpec `json:"spec"`
}

// BGPPeerList is a list of BGPPeers.
// +kubebuilder:object:root=true
type BGPPeerList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []BGPPeer `json:"items"`
}

// BGPAdvertisementSpec says what the selected nodes announce to every
// BGPPeer they speak to; each route's next hop is the announcing node's
// underlay address.
type BGPAdvertisementSpec struct {
	// PodCIDRs announces each selected node's pod ranges (the Node's
	// spec.podCIDRs), next hop that node.
	// +optional
	PodCIDRs bool `json:"podCIDRs,omitempty"`

	// Networks selects Networks whose spec.ipam.cidr is announced by every
	// selected node that has a member pod of the network, next hop that
	// node (so the router spreads the traffic over those nodes). Absent:
	// no Network.
	// +optional
	Networks *BGPNetworkSelector `json:"networks,omitempty"`

	// NodeSelector picks the nodes whose routes this advertises; empty or
	// absent: every node.
	// +optional
	NodeSelector *metav1.LabelSelector `json:"nodeSelector,omitempty"`

	// Communities attached to the routes, each "ASN:value" with both
	// parts 0-65535, e.g. 64512:100.
	// +kubebuilder:validation:MaxItems=16
	// +kubebuilder:validation:items:Pattern=`^[0-9]{1,5}:[0-9]{1,5}$`
	// +listType=set
	// +optional
	Communities []string `json:"communities,omitempty"`
}

// BGPNetworkSelector selects Networks.
type BGPNetworkSelector struct {
	// Namespaces the Networks are in; empty: every namespace.
	// +kubebuilder:validation:MaxItems=64
	// +listType=set
	// +optional
	Namespaces []string `json:"namespaces,omitempty"`
	// Selector on the Networks' labels; empty or absent: every Network
	// of those namespaces.
	// +optional
	Selector *metav1.LabelSelector `json:"selector,omitempty"`
}

// BGPAdvertisement says which routes the nodes announce. It is
// cluster-scoped: a tenant cannot make the fabric route to another
// tenant's Network, since only the cluster's administrators write these.
// +kubebuilder:object:root=true
// +kubebuilder:resource:scope=Cluster,categories=switchboard
// +kubebuilder:printcolumn:name="PodCIDRs",type=boolean,JSONPath=`.spec.podCIDRs`
type BGPAdvertisement struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec BGPAdvertisementSpec `json:"spec"`
}

// BGPAdvertisementList is a list of BGPAdvertisements.
// +kubebuilder:object:root=true
type BGPAdvertisementList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []BGPAdvertisement `json:"items"`
}

func init() {
	SchemeBuilder.Register(&BGPPeer{}, &BGPPeerList{}, &BGPAdvertisement{}, &BGPAdvertisementList{})
}
