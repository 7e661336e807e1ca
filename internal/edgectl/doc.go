// Package edgectl is the control loop of switchboard-edge, the edge device
// on a cluster's gateway node: it serves one or more IDCOs (providers) at
// once and keeps two things converged on what they say.
//
//   - The kernel, through package edge: one link per inter-cluster network
//     that any provider asks this cluster's edge to connect (ID = the
//     network's inter-cluster VNI, cable = sbn<local VNI>, peers = the
//     other clusters' edges).
//   - The cluster's API: one Attachment with role Edge per such network
//     (named <network>-edge-<node>), which tells this node's agent to make
//     the network's edge cable here and the other nodes' agents to flood
//     the network to this node. Edge Attachments of this node that no
//     provider wants any more are deleted.
//
// Everything is derived from the providers' edge configs, the API and the
// kernel (level-based): after a restart the controller needs no memory of
// its own, and Set with an unchanged config changes nothing. Each provider
// is long-polled by its own goroutine, which only hands configs to the one
// goroutine that owns the merged state and writes the kernel and the API.
// A provider that cannot be reached is retried with backoff while the last
// config it gave stays in force: links are never torn down because an IDCO
// is unreachable. After a start, nothing is applied until every provider
// has answered once, so that a restart does not remove the links of a
// provider that is down at that moment.
package edgectl
