package idco

import (
	"context"
	"errors"
	"time"
)

// Errors a Store returns; callers branch on them with errors.Is.
var (
	ErrNotFound = errors.New("not found")
	ErrConflict = errors.New("conflict")
)

// Store keeps the IDCO's state. Implementations must be safe for
// concurrent use; the Service serializes its own writes.
type Store interface {
	// Update runs fn in a read-write transaction, committed if fn returns
	// nil and rolled back otherwise.
	Update(ctx context.Context, fn func(Tx) error) error
	// View runs fn in a read-only transaction.
	View(ctx context.Context, fn func(Tx) error) error
	Close() error
}

// ActiveFilter selects active (not revoked) authorizations; zero fields
// match everything.
type ActiveFilter struct {
	Network, Cluster, Namespace, Pod, User, KeyID string
	// ExpiresBefore, when not zero, selects those expiring before it.
	ExpiresBefore time.Time
}

// PodRef names a pod's place on a network: what an authorization is for.
type PodRef struct {
	Cluster, Network, Namespace, Pod string
}

// Tx is one transaction on a Store. Slices it returns are owned by the
// caller. Lookups of a missing row return an error wrapping ErrNotFound.
type Tx interface {
	Revision(ctx context.Context) (int64, error)
	// BumpRevision increments the revision and returns the new value.
	BumpRevision(ctx context.Context) (int64, error)

	// EnsureCluster creates the cluster if absent; it is idempotent.
	EnsureCluster(ctx context.Context, name string, at time.Time) error
	SetEdgeEndpoint(ctx context.Context, cluster, endpoint, publicKey string, at time.Time) error
	Cluster(ctx context.Context, name string) (Cluster, error)
	Clusters(ctx context.Context) ([]Cluster, error)

	// EnsureUser creates the user if absent; it is idempotent.
	EnsureUser(ctx context.Context, name string, at time.Time) error
	UserExists(ctx context.Context, name string) (bool, error)
	// AddKey stores k; it is idempotent for the same user and fails with
	// ErrConflict if the fingerprint belongs to another user.
	AddKey(ctx context.Context, k Key) error
	Key(ctx context.Context, fingerprint string) (Key, error)
	UserKeys(ctx context.Context, user string) ([]Key, error)
	// RevokeKey marks the key revoked at at unless it already is.
	RevokeKey(ctx context.Context, fingerprint string, at time.Time) error

	// Grant is idempotent.
	Grant(ctx context.Context, user, network string, at time.Time) error
	// RevokePermission reports whether there was a permission to revoke.
	RevokePermission(ctx context.Context, user, network string) (bool, error)
	HasPermission(ctx context.Context, user, network string) (bool, error)

	Network(ctx context.Context, name string) (Network, error)
	// CreateNetwork stores a new network with the lowest free VNI in
	// [vniMin, vniMax], failing with ErrConflict if none is free.
	CreateNetwork(ctx context.Context, name string, vniMin, vniMax uint32, at time.Time) (Network, error)
	// PutRegistration inserts or replaces a cluster's registration,
	// access list included.
	PutRegistration(ctx context.Context, r Registration) error
	// DeleteRegistration removes the cluster's registration of the network,
	// with its access list and edge attachment, and reports whether there
	// was one. The network itself stays.
	DeleteRegistration(ctx context.Context, network, cluster string) (bool, error)
	// Registrations lists the network's registrations, ordered by cluster.
	Registrations(ctx context.Context, network string) ([]Registration, error)
	// ClusterRegistrations lists the cluster's registrations, by network.
	ClusterRegistrations(ctx context.Context, cluster string) ([]Registration, error)

	// InsertAuthorization inserts the authorizations, in order.
	InsertAuthorization(ctx context.Context, as ...Authorization) error
	// ActiveForPods lists the active authorizations of the pods, oldest
	// first.
	ActiveForPods(ctx context.Context, pods []PodRef) ([]Authorization, error)
	Authorization(ctx context.Context, id string) (Authorization, error)
	// RevokeAuthorization ends an active authorization; it reports false
	// if the authorization was already revoked.
	RevokeAuthorization(ctx context.Context, id, reason string, at time.Time, revision int64) (bool, error)
	ActiveAuthorizations(ctx context.Context, f ActiveFilter) ([]Authorization, error)
	// RevokedSince lists the cluster's authorizations revoked at a
	// revision after rev.
	RevokedSince(ctx context.Context, cluster string, rev int64) ([]Authorization, error)
	// NonceUses counts authorizations, active or not, made with the nonce,
	// up to limit: a count of limit means limit or more.
	NonceUses(ctx context.Context, user, nonce string, limit int) (int, error)

	// AppendAudit appends the entries, in order.
	AppendAudit(ctx context.Context, es ...AuditEntry) error
	Audit(ctx context.Context, f AuditFilter) ([]AuditEntry, error)

	// PolicyGeneration reads the counter that every change to keys,
	// registrations, access lists or permissions bumps, and holds it for
	// the rest of the transaction: a concurrent BumpPolicyGeneration (in
	// this process or another on the same database) commits either before
	// the transaction reads it or after the transaction ends.
	PolicyGeneration(ctx context.Context) (int64, error)
	// BumpPolicyGeneration increments the policy generation and returns
	// the new value. A write that changes the policy calls it before
	// reading what it changes.
	BumpPolicyGeneration(ctx context.Context) (int64, error)

	// EndedAuthorizations lists up to limit authorizations that ended
	// before before, oldest first.
	EndedAuthorizations(ctx context.Context, before time.Time, limit int) ([]Authorization, error)
	// DeleteEndedAuthorizations deletes the authorizations that ended
	// before before and come no later than through in EndedAuthorizations'
	// order (those it listed up to through), and returns how many it
	// deleted; active ones stay.
	DeleteEndedAuthorizations(ctx context.Context, before time.Time, through Authorization) (int, error)
	// AuditBefore lists up to limit audit entries made before before, by
	// ascending ID.
	AuditBefore(ctx context.Context, before time.Time, limit int) ([]AuditEntry, error)
	// DeleteAudit deletes the audit entries made before before whose ID is
	// at most throughID, and returns how many it deleted.
	DeleteAudit(ctx context.Context, before time.Time, throughID int64) (int, error)

	// AddOwner makes user an owner of network; it is idempotent.
	AddOwner(ctx context.Context, user, network string, at time.Time) error
	// RemoveOwner reports whether there was an ownership to remove.
	RemoveOwner(ctx context.Context, user, network string) (bool, error)
	// NetworkOwners lists the network's owners, sorted.
	NetworkOwners(ctx context.Context, network string) ([]string, error)
	// OwnedNetworks lists the names of the networks the user owns, sorted,
	// registered or not.
	OwnedNetworks(ctx context.Context, user string) ([]string, error)
	// Networks lists the networks by name; with owner set, those the user
	// owns.
	Networks(ctx context.Context, owner string) ([]Network, error)
	// Permitted lists the users with a permission on the network, sorted.
	Permitted(ctx context.Context, network string) ([]string, error)
	// Users lists the user names, sorted.
	Users(ctx context.Context) ([]string, error)
	// AuthorizationPage lists one page of authorizations, newest first
	// (see AuthorizationQuery); q.Limit is set.
	AuthorizationPage(ctx context.Context, q AuthorizationQuery) ([]Authorization, error)
}
