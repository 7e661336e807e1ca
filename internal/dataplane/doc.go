// Package dataplane programs a node's part of Switchboard's virtual networks
// into the Linux kernel through netlink: bridges, VXLAN devices, veth pairs
// to pods, and exact forwarding and neighbour entries for remote members.
//
// # Devices
//
// Each network is identified by its VNI (< 2^24). A node that has members of
// a network holds, for it:
//
//   - a Linux bridge sbbr<VNI>, with no IP address (IPv6 address generation
//     is off, and Set removes any address found on it) and multicast
//     snooping off, so broadcast and multicast reach every port;
//   - a VXLAN device sbvx<VNI>: id VNI, UDP port 4789, local = the node's
//     underlay address, dev = the underlay interface, learning off and proxy
//     on (off for a network with Flood); it is a port of the bridge with bridge-port learning off;
//   - one veth pair per pod interface: the host end sbv<11 hex> (see
//     HostIfName) is a port of the bridge, the other end lives in the pod's
//     network namespace under the name the runtime asked for;
//   - on the cluster's gateway node, for a network with EdgeCable, an edge
//     cable: a veth pair sbe<VNI> - sbn<VNI> in the node's namespace.
//     sbe<VNI> is a plain port of the bridge; sbn<VNI> (devname.EdgeCable) is
//     left up and without a master for the edge device (switchboard-edge,
//     hostNetwork on the same node), which enslaves it to its own bridge
//     and carries the segment to other clusters. Set never changes the
//     master of sbn<VNI>. An edge cable is not a pod port: LocalPorts,
//     PodPorts and RemoveOrphans ignore it, and it does not keep a network
//     in use.
//
// Every name is at most 15 characters (IFNAMSIZ-1) for any VNI: sbbr, sbvx,
// sbe or sbn and the VNI in decimal (at most 8 digits), or sbv and 11 hex
// digits. The prefixes are package devname's, shared with the edge.
//
// The kernel work common to this package and the edge (bridges, VXLAN
// devices, FDB and neighbour sync, keeping devices without addresses) is
// package netdev's; this package decides what a node's networks need.
//
// Bridges, VXLAN devices, edge cables and pod interfaces of a network share
// its MTU: Network.MTU, or the underlay's MTU minus the VXLAN overhead (50
// bytes over IPv4, 70 over IPv6). Nothing bridges or routes between two networks: each
// has its own bridge and its own VXLAN device, and the bridges carry no
// address, so the node takes no part in any network's L2 or L3.
//
// # Remote members
//
// Remote members are programmed exactly and never learned. For each pod
// interface on another node (node IP, MAC, IPs) the VXLAN device holds
//
//   - an FDB entry MAC → node IP (bridge fdb … self permanent) that tells
//     the VXLAN device where to tunnel frames for that MAC;
//   - a static bridge FDB entry MAC → the VXLAN port (bridge fdb … master
//     static), so the bridge forwards unicast to remote pods through the
//     tunnel instead of flooding it to every local port;
//   - a permanent neighbour entry IP → MAC for each of the pod's addresses.
//     With proxy on, the VXLAN device answers ARP requests and IPv6 neighbour
//     solicitations for those addresses itself, from this table; requests
//     for any other address are dropped at the VXLAN device and never leave
//     the node. ARP and ND therefore never cross the underlay.
//
// Broadcast, unknown unicast and multicast use head-end replication: one
// all-zeros-MAC FDB entry per remote node that has members in the network,
// appended (NLM_F_APPEND) so the VXLAN device sends one copy to each of
// those nodes and to no other. A Remote without a MAC is flood-only: its
// node gets that entry and nothing else (the gateway node, whose member is
// the edge cable).
//
// # Inter-cluster networks: Flood
//
// The proxy is right while every member is a Remote, and wrong for a
// network that spans clusters: the pods of the other clusters are behind
// the gateway's edge cable and no agent knows their addresses, so a pod on
// another node could never resolve them. A Network with Flood has a VXLAN
// device with proxy off: ARP requests and neighbour solicitations for any
// address are flooded like other broadcast and multicast, to every member
// node, the gateway included, whose bridge sends them through the cable;
// the answer comes back from the member itself. Exact FDB entries for the
// remotes' MACs stay, so unicast to known members is still never flooded.
//
// # Convergence
//
// Set is declarative: it reads the kernel, compares it with the desired
// Config and changes only what differs. A device that matches is never
// recreated; MTU, bridge membership, port learning and up state are fixed in
// place. A VXLAN device whose immutable attributes (VNI, local address,
// underlay, port, learning, proxy) differ is replaced. Set removes stale FDB
// and neighbour entries, and removes the bridge and VXLAN device of a network
// that is no longer in the Config only once no pod port is left on its
// bridge; it reports the networks it kept with a *NetworksInUseError. The
// edge cable of a network that leaves the Config or loses EdgeCable is
// removed at once, and so is any edge cable whose network is gone. Set
// touches only devices named with its own prefixes (sbbr, sbvx, sbv, sbe,
// sbn).
//
// After a restart, a new Dataplane needs no memory of the past: Set with the
// same Config finds every device and entry in place and changes nothing, so
// running traffic does not notice.
//
// # Pods
//
// AddPod creates a veth pair whose pod end is created directly inside the
// pod's namespace, configures both ends and enslaves the host end; on any
// failure it deletes the pair (and the network's devices, if it had just
// created them for this pod). AddPod for an interface that already exists
// with the same identity converges it instead. It can also be done in two
// steps, for a caller that is still choosing the addresses: PreparePod does
// everything but the addresses and returns a PodLink, whose Finish adds
// them (in the pod's namespace only, without the Dataplane's lock) and
// whose Remove undoes PreparePod. PreparePod takes the Dataplane's lock
// only to make a network's devices (its first pod on the node); otherwise
// it reserves the interface's name and works without it, and Set keeps a
// network while a pod is being made on it or has been since Set listed the
// links, so that many pods starting at once do not queue behind each other,
// nor behind a Set (seconds, on a node whose RTNL other work keeps busy).
// DetachPod likewise never takes that lock. At most max(2, GOMAXPROCS) pod
// interfaces are worked on in the kernel at once (made, addressed,
// detached, deleted): RTNL is one lock for the whole machine, and more at
// once only spin on it. DelPod deletes the host
// end, which destroys the pair; DetachPod (the agent's CNI DEL) only takes
// the host end down, which cuts the pod off its network at once, and
// deletes the pair in the background (poddel.go): the kernel's deletion of
// a veth pair waits for an RCU grace period. The network's devices stay
// until a Set that no longer lists the network finds the bridge without
// ports. A change of a
// network's MTU reaches the bridge and VXLAN device at once, and a pod
// interface when AddPod is called for it again (or when it is recreated).
//
// # Bandwidth
//
// A pod interface may be limited in each direction (PodInterface.Bandwidth, package bandwidth):
// what the pod receives by a tbf qdisc at the root of the host end (which
// transmits towards the pod), what it sends by a tbf at the root of the pod
// end, inside the pod's namespace (netdev.SetShape). tbf and htb exist on
// the kernels this runs on; tc classifiers, police and ifb do not, so the
// reference CNI bandwidth plugin's way (ifb for the pod's egress) cannot be
// used. Rates count Ethernet frames. AddPod and PreparePod apply the
// interface's Bandwidth, PodLink.Shape and ShapePod change it on a running
// pod (the agent calls ShapePod when a Network's limits change), the zero
// Limits removes the qdiscs, and CheckPod compares the rates. A pod with
// NET_ADMIN in its own namespace can remove its egress qdisc; its ingress
// limit is on the node and stays.
//
// # Namespaces
//
// All kernel work goes through netlink sockets opened inside the target
// namespace (netlink.NewHandleAt): the node's (the caller's own, or the one
// named by WithNetNS) and each pod's. netlink.NewHandleAt enters the
// namespace only for the instant of opening its socket, on a locked thread;
// nothing else here runs inside another namespace, so the package needs no
// ns.Do of its own.
package dataplane
