// Package topology draws a Switchboard network as it is in one or more
// clusters: each cluster with its nodes, the pods on each node with their
// interface and addresses (and the pods the operator refused), the
// gateways (the edge device's Attachments of the network) and the tunnels
// between the gateways of different clusters, with their state.
//
// Build reads each cluster through a Source, the small interface this
// package needs (KubeSource is the one over a controller-runtime client;
// the tests use a fake), and returns a Topology: plain data, with no
// client in it. The renderers (WriteText, WriteDot, WriteSVG) are pure
// functions of a Topology, so that the pictures are tested without a
// cluster. WriteDot writes Graphviz source without needing Graphviz;
// WriteSVG lays the picture out itself.
//
// A tunnel's state is what the clusters publish, not a probe: it is "up"
// when both networks are Ready, both clusters have an edge Attachment for
// the network (the provider asked both edges to carry it) with the same
// inter-cluster VNI, and both edge pods are Ready; otherwise "down", with
// the reason. Its encryption is what each edge says in its Attachment
// (WireGuard, or plain VXLAN when an edge runs --insecure-plain-vxlan-wan).
package topology
