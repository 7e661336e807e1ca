package idco

import "time"

// Cluster is a member cluster and the WAN endpoint of its edge device (NED).
type Cluster struct {
	Name string `json:"name"`
	// EdgeEndpoint is the address:port at which other clusters' edges reach
	// this cluster's edge; empty until the cluster sets it.
	EdgeEndpoint string `json:"edgeEndpoint,omitempty"`
	// EdgePublicKey is the edge's WireGuard public key (base64, as wg(8)
	// prints it); empty for an edge that runs plain VXLAN on the WAN.
	EdgePublicKey string `json:"edgePublicKey,omitempty"`
}

// Key is a user's public key, identified by its token.Fingerprint.
type Key struct {
	Fingerprint string     `json:"fingerprint"`
	User        string     `json:"user"`
	PEM         string     `json:"pem"`
	CreatedAt   time.Time  `json:"createdAt"`
	RevokedAt   *time.Time `json:"revokedAt,omitempty"`
}

// AccessEntry is one line of a cluster's access list for a network: a user
// and one of their public keys. Fingerprint is derived from PublicKeyPEM by
// the IDCO; callers may leave it empty.
type AccessEntry struct {
	User         string `json:"user"`
	PublicKeyPEM string `json:"publicKey"`
	Fingerprint  string `json:"fingerprint,omitempty"`
}

// EdgeAttachment says where a network's local segment meets the cluster's
// edge device: the node running the edge and the interface (for example the
// veth between the node's switch and the edge) that carries the segment.
type EdgeAttachment struct {
	Node      string `json:"node,omitempty"`
	Interface string `json:"interface,omitempty"`
}

// Registration is one cluster's local side of an inter-cluster network.
type Registration struct {
	Network   string `json:"network"`
	Cluster   string `json:"cluster"`
	Namespace string `json:"namespace"`
	Name      string `json:"name"`
	LocalVNI  uint32 `json:"localVNI"`
	// AccessList may be empty: the network is then "left open" in this
	// cluster and the IDCO's permissions decide.
	AccessList []AccessEntry  `json:"accessList"`
	Edge       EdgeAttachment `json:"edge"`
	UpdatedAt  time.Time      `json:"updatedAt"`
}

// Deregistration names a cluster's side of an inter-cluster network to
// remove. Namespace and Name, when set, must be those of the registration:
// a registration that another local Network of the same name (in another
// namespace) made since is kept.
type Deregistration struct {
	Network   string
	Cluster   string
	Namespace string
	Name      string
}

// Network is an inter-cluster network and the VNI the IDCO assigned to it;
// the VNI is unique among networks.
type Network struct {
	Name      string    `json:"name"`
	VNI       uint32    `json:"vni"`
	CreatedAt time.Time `json:"createdAt"`
}

// Authorization lets one pod of one cluster use an inter-cluster network.
// It stays active until released, revoked or past Expires (the token's
// expiry).
type Authorization struct {
	ID        string    `json:"id"`
	Network   string    `json:"network"`
	Cluster   string    `json:"cluster"`
	Namespace string    `json:"namespace"`
	Pod       string    `json:"pod"`
	User      string    `json:"user"`
	KeyID     string    `json:"keyID"`
	Nonce     string    `json:"nonce"`
	CreatedAt time.Time `json:"createdAt"`
	Expires   time.Time `json:"expires"`
	// RevokedAt is set once the authorization ended, with RevokedReason
	// saying why (Released, RevokedKey, NoPermission, NotInAccessList,
	// Expired, ...).
	RevokedAt     *time.Time `json:"revokedAt,omitempty"`
	RevokedReason string     `json:"revokedReason,omitempty"`
	// Revision is the revision at which the authorization last changed.
	Revision int64 `json:"revision"`
}

// Decision is the answer to an authorization request.
type Decision struct {
	Allowed bool `json:"allowed"`
	// Reason is empty when allowed; otherwise a token.Reason or one of the
	// Reason* constants of this package.
	Reason string `json:"reason,omitempty"`
	// Detail is a sentence for people saying what is wrong.
	Detail string `json:"detail,omitempty"`
	// Cluster names the cluster whose access list refused the user, for
	// ReasonNotInAccessList.
	Cluster         string    `json:"cluster,omitempty"`
	AuthorizationID string    `json:"authorizationID,omitempty"`
	Expires         time.Time `json:"expires,omitzero"`
}

// AuditEntry records one decision or change: who asked, what, when, and
// whether it was allowed or why not.
type AuditEntry struct {
	ID      int64     `json:"id"`
	At      time.Time `json:"at"`
	Actor   string    `json:"actor"`
	Action  string    `json:"action"`
	Network string    `json:"network,omitempty"`
	Cluster string    `json:"cluster,omitempty"`
	User    string    `json:"user,omitempty"`
	Subject string    `json:"subject,omitempty"`
	Allowed bool      `json:"allowed"`
	Reason  string    `json:"reason,omitempty"`
	Detail  string    `json:"detail,omitempty"`
}

// AuthorizationList is a cluster's view of its authorizations at Revision:
// every active one, and those revoked after the revision the caller asked
// from.
type AuthorizationList struct {
	Cluster  string          `json:"cluster"`
	Revision int64           `json:"revision"`
	Active   []Authorization `json:"active"`
	Revoked  []Authorization `json:"revoked"`
}

// EdgeConfig is the whole desired state of one cluster's edge at Revision.
// The edge applies it as a set: networks not listed must be disconnected.
type EdgeConfig struct {
	Cluster  string        `json:"cluster"`
	Revision int64         `json:"revision"`
	Networks []EdgeNetwork `json:"networks"`
}

// EdgeNetwork is one inter-cluster network the edge must connect: its
// inter-cluster VNI, the local segment, and the remote edges to tunnel to.
type EdgeNetwork struct {
	Network   string         `json:"network"`
	VNI       uint32         `json:"vni"`
	Namespace string         `json:"namespace"`
	Name      string         `json:"name"`
	LocalVNI  uint32         `json:"localVNI"`
	Edge      EdgeAttachment `json:"edge"`
	Peers     []EdgePeer     `json:"peers"`
}

// EdgePeer is a remote cluster's edge for one network.
type EdgePeer struct {
	Cluster  string `json:"cluster"`
	Endpoint string `json:"endpoint"`
	// PublicKey is the remote edge's WireGuard public key; empty when that
	// edge runs plain VXLAN.
	PublicKey string `json:"publicKey,omitempty"`
}

// AuditFilter selects audit entries; zero fields match everything. Entries
// come newest first, at most Limit (default 100).
type AuditFilter struct {
	User    string
	Network string
	Cluster string
	// Owner, when set, keeps the entries about networks the user owns.
	Owner string
	// Action, when set, keeps the entries of that action ("authorize").
	Action string
	// Refused keeps only the entries of refusals (Allowed false).
	Refused bool
	// BeforeID, when set, keeps the entries older than that ID: the next
	// page after an entry.
	BeforeID int64
	Limit    int
}

// Reasons the IDCO itself gives, beside the token package's.
const (
	ReasonNotRegistered   = "NotRegistered"   // the network is not registered in the requesting cluster
	ReasonNotInAccessList = "NotInAccessList" // a cluster's access list lacks the user or the signing key
	ReasonNoPermission    = "NoPermission"    // a cluster left the list open and the user has no permission
	ReasonUnknownCluster  = "UnknownCluster"  // the requesting cluster never registered
	ReasonReleased        = "Released"        // the pod went away
	// ReasonNetworkDeregistered: the pod's cluster deregistered the network
	// (its Network was deleted there).
	ReasonNetworkDeregistered = "NetworkDeregistered"
)
