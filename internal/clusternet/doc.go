// Package clusternet is the cluster's primary pod network on one node,
// when Switchboard is the cluster's default network (the agent's
// --primary; see docs/primary.md): it owns the pods' eth0, their addresses
// from the node's spec.podCIDR, the routes to the other nodes' pod CIDRs,
// and which pod network (seed 001's shared, isolated or custom) each pod of
// the cluster is on, from which package firewall/isolation makes the rules.
//
// # Devices and routes
//
// A pod's eth0 is the end of a veth pair created directly in the pod's
// namespace (netdev.AddVeth). It holds IP/32, a link route to the gateway
// (the first address of the node's pod CIDR) and the default route through
// it. The host end, sbp and 11 hex digits (devname.Hashed), holds the
// gateway as /32 and is the device of the node's /32 route to the pod.
// Routes to other nodes' pod CIDRs go via their InternalIPs (protocol 83,
// which marks them as this package's).
//
// # No memory of its own
//
// The host end's alias records the pod: "IP|services-open|network|ns/name".
// The addresses in use, and the membership this node's pods had at their
// ADD, are read back from the kernel; after an agent restart nothing is
// re-done. Deleting the host end (DEL, or the pod's namespace going away)
// removes the pair, the route and the record at once.
//
// # Concurrency
//
// Network's methods are safe for concurrent use: allocation and creation
// of pod interfaces are serialised by one lock.
package clusternet
