package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Labels on Attachments, for watches that need only some of them.
const (
	LabelNetwork = "switchboard.dev/network"
	LabelNode    = "switchboard.dev/node"
)

// PodRef names a pod across namespaces.
type PodRef struct {
	Namespace string `json:"namespace"`
	Name      string `json:"name"`
	UID       string `json:"uid"`
}

// AttachmentSpec is one pod interface on a network. Agents write it when
// the CNI plugin adds the interface and delete it when it is removed; the
// other agents program forwarding to it.
type AttachmentSpec struct {
	// Network is the Network's name, in the Attachment's namespace.
	Network string `json:"network"`
	// Pod that owns the interface.
	Pod PodRef `json:"pod"`
	// Node the pod runs on, and its underlay address (the VXLAN endpoint).
	Node   string `json:"node"`
	NodeIP string `json:"nodeIP"`
	// ContainerID and Interface identify the attachment to the runtime.
	ContainerID string `json:"containerID"`
	Interface   string `json:"interface"`
	// MAC of the pod's interface.
	// +optional
	MAC string `json:"mac,omitempty"`
	// IPs of the pod's interface, in CIDR notation.
	// +optional
	IPs []string `json:"ips,omitempty"`
}

// Attachment is a pod's interface on a Network. For networks with IPAM its
// name is derived from its address (<network>-<address>), so the API
// server's uniqueness of names is what makes allocation race-free: two
// agents creating the same address, the second gets AlreadyExists.
// +kubebuilder:object:root=true
// +kubebuilder:resource:categories=switchboard
// +kubebuilder:printcolumn:name="Network",type=string,JSONPath=`.spec.network`
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
