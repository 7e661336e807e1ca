// Package v1alpha1 is Switchboard's API, group switchboard.dev, version
// v1alpha1: Network (an isolated virtual network that pods join) and
// Attachment (one pod interface on a network, with its addresses; it is
// also the network's address allocation).
//
// +kubebuilder:object:generate=true
// +groupName=switchboard.dev
package v1alpha1

import (
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/scheme"
)

var (
	// GroupVersion is the API's group and version.
	GroupVersion = schema.GroupVersion{Group: "switchboard.dev", Version: "v1alpha1"}

	// SchemeBuilder registers the API's types.
	SchemeBuilder = &scheme.Builder{GroupVersion: GroupVersion}

	// AddToScheme adds the API's types to a scheme.
	AddToScheme = SchemeBuilder.AddToScheme
)
