package v1alpha1

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Labels on Attachments, for watches that need only some of them.
const (
	LabelNetwork = "switchboard.dev/network"
	LabelNode    = "switchboard.dev/node"
)

// AnnotationWANEncryption, on an edge Attachment, says how that edge
// carries the network on the WAN: WANWireGuard or WANPlainVXLAN.
const (
	AnnotationWANEncryption = "switchboard.dev/wan-encryption"
	WANWireGuard            = "wireguard"
	WANPlainVXLAN           = "none"
)

// PodRef names a pod across namespaces.
type PodRef struct {
	Namespace string `json:"namespace"`
	Name      string `json:"name"`
	UID       string `json:"uid"`
}

// AttachmentRole says what kind of member of a network an Attachment is.
// +kubebuilder:validation:Enum="";Edge
type AttachmentRole string

const (
	// RolePod (the empty role) is a pod interface: a veth into the pod,
	// with a MAC and usually addresses. Agents create and delete these on
	// CNI ADD and DEL.
	RolePod AttachmentRole = ""
	// RoleEdge is the edge device's cable into the network on the gateway
	// node (the agent makes the veth pair sbe<VNI>-sbn<VNI> for it):
	// switchboard-edge creates it for every inter-cluster network it
	// carries. It has no addresses and no MAC of its own (frames of every
	// member in the other clusters come through it), so the other agents
	// make its node a flood target of the network rather than program exact
	// entries. Spec.Pod names the edge's own pod, so that the operator
	// removes it when that pod is gone; ContainerID is empty and Interface
	// is the cable's name. Agents never collect it for lack of a pod veth.
	RoleEdge AttachmentRole = "Edge"
)

// AttachmentSpec is one pod interface on a network. Agents write it when
// the CNI plugin adds the interface and delete it when it is removed; the
// other agents program forwarding to it.
// +kubebuilder:validation:XValidation:rule="!has(self.role) || self.role != 'Edge' || !has(self.ips) || size(self.ips) == 0",message="an Edge attachment has no addresses: the edge's cable is an L2 port"
type AttachmentSpec struct {
	// Network is the Network's name, in the Attachment's namespace.
	Network string `json:"network"`
	// Role of the attachment: "" for a pod interface (the default), "Edge"
	// for the edge device's cable on the gateway node (see RoleEdge).
	// +optional
	Role AttachmentRole `json:"role,omitempty"`
	// Pod that owns the interface.
	Pod PodRef `json:"pod"`
	// Node the pod runs on, and its underlay address (the VXLAN endpoint).
	Node   string `json:"node"`
	NodeIP string `json:"nodeIP"`
	// ContainerID and Interface identify the attachment to the runtime.
	ContainerID string `json:"containerID"`
	Interface   string `json:"interface"`
	// MAC of the pod's interface; none for an Edge attachment.
	// +optional
	MAC string `json:"mac,omitempty"`
	// IPs of the pod's interface, in CIDR notation.
	// +optional
	IPs []string `json:"ips,omitempty"`
	// NetNS is the path of the pod's network namespace, as the runtime
	// gave it on ADD; the agent shapes the pod's end of the interface in
	// it when the network's limits change.
	// +optional
	NetNS string `json:"netns,omitempty"`
	// Bandwidth is what the pod itself asked for on this interface (CNI's
	// bandwidth capability: rates in bit/s, bursts in bits), which replaces
	// the network's limits direction by direction. Absent: the network's.
	// +optional
	Bandwidth *PodBandwidth `json:"bandwidth,omitempty"`
}

// PodBandwidth is a pod's own request, in the shape of CNI's bandwidth
// capability entry (bandwidth.CNI).
type PodBandwidth struct {
	// +kubebuilder:validation:Minimum=0
	// +optional
	IngressRate int64 `json:"ingressRate,omitempty"`
	// +kubebuilder:validation:Minimum=0
	// +optional
	IngressBurst int64 `json:"ingressBurst,omitempty"`
	// +kubebuilder:validation:Minimum=0
	// +optional
	EgressRate int64 `json:"egressRate,omitempty"`
	// +kubebuilder:validation:Minimum=0
	// +optional
	EgressBurst int64 `json:"egressBurst,omitempty"`
}

// IsEdge reports whether the attachment is an edge device's cable rather
// than a pod interface.
func (s *AttachmentSpec) IsEdge() bool { return s.Role == RoleEdge }

// maxNameLen is the longest object name the API server accepts (a DNS
// subdomain).
const maxNameLen = 253

// EdgeAttachmentName is the name of the edge Attachment of network on node:
// "<network>-edge-<node>". Network and node names are DNS subdomains, so
// the result is one too; one longer than 253 characters is cut and ends in
// a hash of the whole, so that it stays unique.
func EdgeAttachmentName(network, node string) string {
	name := strings.ToLower(network + "-edge-" + node)
	if len(name) <= maxNameLen {
		return name
	}
	sum := sha256.Sum256([]byte(name))
	suffix := "-" + hex.EncodeToString(sum[:6])
	return strings.TrimRight(name[:maxNameLen-len(suffix)], "-.") + suffix
}

// Attachment is a pod's interface on a Network. For networks with IPAM its
// name is derived from its address (<network>-<address>), so the API
// server's uniqueness of names is what makes allocation race-free: two
// agents creating the same address, the second gets AlreadyExists. An
// Edge attachment is named <network>-edge-<node> (EdgeAttachmentName).
// +kubebuilder:object:root=true
// +kubebuilder:resource:categories=switchboard
// +kubebuilder:printcolumn:name="Network",type=string,JSONPath=`.spec.network`
// +kubebuilder:printcolumn:name="Role",type=string,JSONPath=`.spec.role`,priority=1
// +kubebuilder:printcolumn:name="Pod",type=string,JSONPath=`.spec.pod.name`
// +kubebuilder:printcolumn:name="Node",type=string,JSONPath=`.spec.node`
// +kubebuilder:printcolumn:name="IPs",type=string,JSONPath=`.spec.ips`
// +kubebuilder:printcolumn:name="MAC",type=string,JSONPath=`.spec.mac`
type Attachment struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec AttachmentSpec `json:"spec"`
}

// AttachmentList is a list of Attachments.
// +kubebuilder:object:root=true
type AttachmentList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []Attachment `json:"items"`
}

func init() { SchemeBuilder.Register(&Attachment{}, &AttachmentList{}) }
