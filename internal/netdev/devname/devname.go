// Package devname names the kernel network devices that Switchboard makes
// in a node's network namespace, and recognises those names again.
//
// The node agent (package dataplane) and the edge (packages edge and
// edge/tunnel) share the gateway node's namespace, so all their prefixes
// live here, where a test shows that no name of one kind reads as a name of
// another. The edge cable's name crosses three rooms: the agent makes the
// cable, the edge takes it, and the operator tells the IDCO its name; all
// three call EdgeCable.
//
// The package holds names only and imports nothing but the standard
// library, so that the operator, which does no kernel work, can use it
// without netlink.
package devname

import (
	"crypto/sha256"
	"encoding/hex"
	"strconv"
	"strings"
)

// Prefixes of every device Switchboard makes. All but PrefixPodPort and
// PrefixPrimaryPort are
// followed by a VNI or link ID in decimal without leading zeros (Numbered),
// so every name is at most 12 characters, within IFNAMSIZ-1 (15).
const (
	PrefixBridge     = "sbbr" // a network's bridge (agent)
	PrefixVXLAN      = "sbvx" // a network's VXLAN device (agent)
	PrefixPodPort    = "sbv"  // the host end of a pod interface (agent), then 11 hex digits
	PrefixEdgePort   = "sbe"  // the edge cable's end on the network's bridge (agent)
	PrefixEdgeCable  = "sbn"  // the edge cable's end that the edge takes (agent makes, edge enslaves)
	PrefixLinkBridge = "sbwb" // an inter-cluster link's bridge (edge)
	PrefixTunnelPort = "sbwx" // an inter-cluster link's VXLAN tunnel port (edge)
	// PrefixPrimaryPort is the host end of a pod's primary interface
	// (agent in primary mode, package clusternet), then 11 hex digits.
	PrefixPrimaryPort = "sbp"
)

// Hashed returns prefix followed by 11 hex digits of
// sha256(containerID + "/" + ifName): the name of the host end of a pod
// interface, stable across restarts, at most 14 characters.
func Hashed(prefix, containerID, ifName string) string {
	sum := sha256.Sum256([]byte(containerID + "/" + ifName))
	return prefix + hex.EncodeToString(sum[:])[:11]
}

// MaxVNI is the largest number a name carries: VXLAN network identifiers,
// and so the inter-cluster link IDs too, have 24 bits.
const MaxVNI = 1<<24 - 1

// Numbered returns prefix followed by n in decimal.
func Numbered(prefix string, n uint32) string {
	return prefix + strconv.FormatUint(uint64(n), 10)
}

// ParseNumbered returns the number of a name that Numbered(prefix, n) would
// make for some n <= MaxVNI, and ok=false for any other name.
func ParseNumbered(prefix, name string) (n uint32, ok bool) {
	rest, found := strings.CutPrefix(name, prefix)
	v, err := strconv.ParseUint(rest, 10, 32)
	if !found || err != nil || v > MaxVNI || strconv.FormatUint(v, 10) != rest {
		return 0, false
	}
	return uint32(v), true
}

// EdgeCable returns the name of the edge's end of network vni's edge cable:
// "sbn" and the VNI in decimal, at most 11 characters.
func EdgeCable(vni uint32) string { return Numbered(PrefixEdgeCable, vni) }
