package operator

import (
	"encoding/json"
	"fmt"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"

	"switchboard/api/v1alpha1"
)

// The operator handles NetworkAttachmentDefinitions (Multus's CRD) as
// unstructured objects: it needs two fields, and this keeps the module free
// of the NAD client library and its dependency pins.
var nadGVK = schema.GroupVersionKind{Group: "k8s.cni.cncf.io", Version: "v1", Kind: "NetworkAttachmentDefinition"}

// newNAD returns an empty NetworkAttachmentDefinition, ready for Get or List.
func newNAD() *unstructured.Unstructured {
	u := &unstructured.Unstructured{}
	u.SetGroupVersionKind(nadGVK)
	return u
}

// nadConfig returns the NAD's spec.config ("" if unset or not a string).
func nadConfig(u *unstructured.Unstructured) string {
	s, _, _ := unstructured.NestedString(u.Object, "spec", "config")
	return s
}

func setNADConfig(u *unstructured.Unstructured, config string) {
	// Cannot fail: u.Object is a map and config a string.
	_ = unstructured.SetNestedField(u.Object, config, "spec", "config")
}

// cniConfig is the CNI network configuration published for a Network.
// Field order is the order of the JSON.
type cniConfig struct {
	CNIVersion   string          `json:"cniVersion"`
	Name         string          `json:"name"`
	Type         string          `json:"type"`
	Network      string          `json:"network"`
	Capabilities cniCapabilities `json:"capabilities"`
}

type cniCapabilities struct {
	IPs       bool `json:"ips"`
	MAC       bool `json:"mac"`
	Bandwidth bool `json:"bandwidth"`
}

// NADConfig is the spec.config of the NetworkAttachmentDefinition published
// for net: the switchboard plugin, pointing at the Network, accepting the
// ips, mac and bandwidth of the pod's k8s.v1.cni.cncf.io/networks
// annotation.
func NADConfig(net *v1alpha1.Network) string {
	b, err := json.Marshal(cniConfig{
		CNIVersion:   "1.0.0",
		Name:         net.Name,
		Type:         "switchboard",
		Network:      types.NamespacedName{Namespace: net.Namespace, Name: net.Name}.String(),
		Capabilities: cniCapabilities{IPs: true, MAC: true, Bandwidth: true},
	})
	if err != nil {
		panic(fmt.Sprintf("marshal CNI config: %v", err)) // strings and bools always marshal
	}
	return string(b)
}

// ownedByNetwork reports whether any owner of u is a Network.
func ownedByNetwork(u *unstructured.Unstructured) bool {
	for _, ref := range u.GetOwnerReferences() {
		if ref.Kind == "Network" && ref.APIVersion == v1alpha1.GroupVersion.String() {
			return true
		}
	}
	return false
}

// madeFrom reports whether net was made from (is owned by) the object with uid.
func madeFrom(net *v1alpha1.Network, uid types.UID) bool {
	for _, ref := range net.OwnerReferences {
		if ref.UID == uid {
			return true
		}
	}
	return false
}
