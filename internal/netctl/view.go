package netctl

import (
	"k8s.io/apimachinery/pkg/api/meta"

	"switchboard/api/v1alpha1"
)

// NetworkView is what one cluster says of a Network: its spec in short and
// what the operator reported.
type NetworkView struct {
	Namespace string `json:"namespace"`
	Name      string `json:"name"`
	Type      string `json:"type"`
	// Ready is the Ready condition's status (True, False, Unknown); empty
	// while no operator has reported on the Network's latest generation.
	Ready           string             `json:"ready"`
	Reason          string             `json:"reason,omitempty"`
	Message         string             `json:"message,omitempty"`
	VNI             int32              `json:"vni,omitempty"`
	InterClusterVNI int32              `json:"interClusterVNI,omitempty"`
	Provider        *v1alpha1.Provider `json:"provider,omitempty"`
	// AccessList holds the users of the access list (empty: left open).
	AccessList []string `json:"accessList,omitempty"`
}

func viewOf(net *v1alpha1.Network) NetworkView {
	v := NetworkView{
		Namespace:       net.Namespace,
		Name:            net.Name,
		Type:            string(net.Spec.Type),
		VNI:             net.Status.VNI,
		InterClusterVNI: net.Status.InterClusterVNI,
		Provider:        net.Spec.Provider,
	}
	if c := meta.FindStatusCondition(net.Status.Conditions, v1alpha1.ConditionReady); c != nil &&
		net.Status.ObservedGeneration >= net.Generation {
		v.Ready, v.Reason, v.Message = string(c.Status), c.Reason, c.Message
	}
	for _, e := range net.Spec.AccessList {
		v.AccessList = append(v.AccessList, e.User)
	}
	return v
}

// settled reports whether waiting longer would not change v's readiness:
// Ready, or refused for its spec (which only a new spec changes).
func (v NetworkView) settled() bool {
	if v.Ready == "True" {
		return true
	}
	return v.Ready == "False" && (v.Reason == v1alpha1.ReasonInvalidSpec || v.Reason == v1alpha1.ReasonUnsupportedType)
}

// dash stands for an unset value in tables.
func dash[T comparable](v T) any {
	var zero T
	if v == zero {
		return "-"
	}
	return v
}
