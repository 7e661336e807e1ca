// Package netdev programs the kernel network devices that Switchboard's
// data planes are made of, in one network namespace, through netlink:
// bridges, VXLAN devices, their forwarding (FDB) and neighbour entries, and
// what every device of ours must be (the MTU it is given, no addresses,
// up), and a device's transmit rate (a tbf qdisc at its root: SetShape). The node agent's data plane (package dataplane) and the edge
// (packages edge and edge/tunnel) are built on it, and so is any later
// engine: a WireGuard tunnel is a VXLAN device over a WireGuard device,
// made with EnsureVXLAN and SyncSelfFDB like the plain one.
//
// # Contracts
//
// Every Ensure, Sync and Fix is convergent: it reads the kernel, changes
// only what differs, and may be called any number of times with the same
// arguments. A device that matches is never recreated. Deleting what is
// already gone is success. A Devices is not safe for concurrent use: its
// callers serialise their calls (each holds its own lock).
//
// Forwarding is exact, never learned: a VXLAN device's own FDB holds an
// entry MAC → remote VTEP per known remote MAC, and one all-zeros entry per
// remote VTEP for broadcast, multicast and unknown unicast (head-end
// replication, added with NLM_F_APPEND). SyncFDB also keeps the bridge's
// static entries towards the VXLAN port, so that the bridge forwards to
// remote MACs without flooding; SyncSelfFDB leaves the bridge's entries to
// the bridge. Additions come before deletions, so no frame loses a path it
// has while the table changes.
//
// # Tests
//
// The pure parts (DiffFDB, DiffNeigh, VXLANDiffers, MAC) are table tests;
// the rest runs as root in throwaway network namespaces (sbnd…).
//
// Device names are package devname's, which imports nothing and can be
// used where netlink cannot.
package netdev
