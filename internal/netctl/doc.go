// Package netctl is the client side of Switchboard's networks across
// clusters: it creates (or updates) the same Network in several kubeconfig
// contexts, and shows each cluster's view of a network — readiness, VNIs,
// the users authorized on it, its edge links and attached pods.
//
// It is what "switchboard network create" and "switchboard network status"
// run; the command only turns flags into a Spec and an Open call. Every
// function reports per context: a context that fails never hides the
// others' results.
package netctl
