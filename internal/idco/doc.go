// Package idco is Switchboard's inter-domain connectivity orchestrator
// (IDCO, seed 000): the registry of clusters and their edge endpoints, users
// and their public keys, per-user permissions, and inter-cluster networks
// with each cluster's local registration and access list.
//
// The Service verifies the signed tokens that pods present, decides whether
// a pod may join an inter-cluster network (checking every cluster's access
// list or, where a list is left open, the IDCO's permissions), records every
// decision in an audit log, and tells edges what to connect. Registering a
// network connects nothing: only an approved authorization puts a network in
// an edge's desired configuration. A cluster deregisters its side of a
// network when its Network goes, which ends its authorizations there.
//
// The Service keeps no state of its own beyond a wake-up channel for long
// polls: everything lives in a Store (see package switchboard/internal/idco/store
// for the SQLite and PostgreSQL backends), so a restarted IDCO serves the
// same state. This package imports no SQL driver, so the client package can
// share its types.
package idco
