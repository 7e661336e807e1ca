// Package edge is the data plane of switchboard-edge, the network edge
// device (NED) on a cluster's gateway node: it carries inter-cluster
// networks between clusters across the WAN.
//
// For each link (one inter-cluster network, identified by the ID the IDCO
// assigns) the edge owns, in the gateway node's namespace:
//
//   - a Linux bridge sbwb<ID>, without addresses (IPv6 address generation
//     off) and without multicast snooping;
//   - a tunnel port (package tunnel; for now the VXLAN device sbwx<ID>,
//     VNI = ID, UDP port 4790 by default), a port of the bridge, that
//     reaches every remote edge of the link with head-end replication and
//     sends frames for known remote member MACs to their edge alone.
//
// The third port of the bridge is the link's cable: the end sbn<VNI> of a
// veth pair whose other end the node's agent (package dataplane, with
// Network.EdgeCable) put on the local network's bridge. The edge enslaves
// the cable and changes nothing else about it: the agent owns it. One cable
// per network, as many links as the IDCO asks for.
//
// Set is declarative and idempotent: it reads the kernel, changes only what
// differs from the Config, and removes the bridges and tunnel ports of
// links that are no longer in it (found by their names). It touches no
// device it did not make, other than enslaving the cables it is given. A
// link whose cable is missing, or whose settings are invalid, is reported
// (a *LinkError) while the others converge; Status says per link what is in
// place and what is missing. After a restart, a new Edge with the same
// Config finds everything in place and changes nothing, so running traffic
// does not notice.
//
// Bridges, VXLAN devices, FDB entries and device names are packages netdev
// and devname's, which the node agent's data plane uses too.
package edge
