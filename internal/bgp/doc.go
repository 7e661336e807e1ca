// Package bgp owns each node's BGP speaker: an embedded GoBGP server that
// opens the sessions the cluster's BGPPeers give this node and announces
// the routes its BGPAdvertisements give it (the node's pod ranges, and the
// CIDRs of selected Networks that have members on the node), each with
// the node's underlay address as next hop.
//
// The shape is the data plane's: Desired is a pure function from the API
// objects to a Config (the sessions and routes of one node), and
// Speaker.Set converges the running server on a Config, adding and
// removing peers and paths live, never restarting the server. The
// Reconciler reads the world on every change and calls Set; it keeps no
// memory of its own, so after an agent restart the first Set rebuilds
// everything.
//
// Safety rules, held by construction:
//   - The speaker never listens: it has no TCP listener at all (GoBGP's
//     ListenPort -1), so only the sessions that a BGPPeer names exist, and
//     it dials them itself (no passive accept).
//   - Nothing received is used: the global import policy rejects every
//     route, so a router cannot inject routes into a node.
//   - Only what a BGPAdvertisement lists is announced; both kinds are
//     cluster-scoped, so only the cluster's administrators choose.
//   - A peer with a password Secret is configured only once the Secret is
//     read; the session then uses TCP MD5 (RFC 2385). A missing Secret
//     leaves that peer out rather than opening it without a password.
//
// Graceful restart (RFC 4724) is negotiated on every session. A speaker
// that stops never sends a NOTIFICATION (Abandon), so the router keeps the
// node's routes as stale for the restart time; the next speaker's first
// sessions carry the restart flag and re-announce, and the router drops
// only what was not announced again once it gets the End-of-RIB.
package bgp
