package idco

// Bodies of the HTTP API that are not domain types; package server serves
// them and package client sends them.

// EdgeEndpointRequest sets a cluster's edge endpoint and, for an edge that
// encrypts, its WireGuard public key (base64, 32 bytes).
type EdgeEndpointRequest struct {
	Endpoint  string `json:"endpoint"`
	PublicKey string `json:"publicKey,omitempty"`
}

// NetworkRegistration is the body of a network registration; the cluster
// and network come from the path.
type NetworkRegistration struct {
	Namespace  string         `json:"namespace"`
	Name       string         `json:"name"`
	LocalVNI   uint32         `json:"localVNI"`
	AccessList []AccessEntry  `json:"accessList"`
	Edge       EdgeAttachment `json:"edge"`
}

// RegisterNetworkResponse returns the network's inter-cluster VNI.
type RegisterNetworkResponse struct {
	VNI uint32 `json:"vni"`
}

// LocalNetwork names a cluster's Network (namespace and name) in a
// deregistration, sent as the query ?namespace=&name=.
type LocalNetwork struct {
	Namespace string
	Name      string
}

// PodAuthorization is the body of an authorization request; the cluster
// comes from the path.
type PodAuthorization struct {
	Network   string `json:"network"`
	Namespace string `json:"namespace"`
	Pod       string `json:"pod"`
	Token     string `json:"token"`
}

// UserRequest adds a user.
type UserRequest struct {
	Name string `json:"name"`
}

// KeyRequest adds a PEM public key to a user.
type KeyRequest struct {
	PublicKeyPEM string `json:"publicKey"`
}

// KeyResponse names a key by fingerprint.
type KeyResponse struct {
	Fingerprint string `json:"fingerprint"`
}
