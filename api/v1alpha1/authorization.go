package v1alpha1

// ConditionNetworksAuthorized is the pod condition the operator sets in
// inter-cluster mode: True when every ext-vnet network the pod asks for
// allows it, False with the first refusal's reason otherwise.
const ConditionNetworksAuthorized = "switchboard.dev/NetworksAuthorized"

// AuthorizationKey is how network namespace/name is named in an
// Authorization's decisions (NetworkDecision.Network).
func AuthorizationKey(namespace, name string) string { return namespace + "/" + name }
