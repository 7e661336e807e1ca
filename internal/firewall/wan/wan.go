// Package wan is the edge's WAN admission: the nftables table
// "inet switchboard-edge" that the edge owns on its gateway node while it
// tunnels inside WireGuard (see package firewall for how the table is
// replaced, and package edge/tunnel for the tunnel).
//
// # The threat
//
// The edge's inner VXLAN ports listen on UDP port 4790 on every address of
// the gateway, and deliver the frame inside a datagram into the link whose
// ID it names, whoever sent it. WireGuard authenticates what arrives on its
// own port, and only what it decrypts comes out of the WireGuard interface;
// without this rule, a host on the WAN (or a pod) could still send VXLAN to
// port 4790 directly, past WireGuard, tokens and the IDCO.
//
// # The rule
//
//	input (filter - 10):
//	  udp dport 4790 not from the WireGuard interface (nor its injector): drop
//
// Nothing else is filtered: WireGuard's own port accepts only what its
// peers' keys authenticate, and the node's other traffic is the node's.
package wan

import (
	"fmt"

	"switchboard/internal/firewall"
)

// Table is the nftables table of WAN admission: family inet, name
// "switchboard-edge".
const (
	Family    = firewall.INet
	TableName = "switchboard-edge"
)

// Spec returns the table's content for an edge whose tunnel ports listen
// on UDP innerPort and may receive only from the interfaces from: the
// WireGuard interface, and the TAP device through which an embedded
// WireGuard device writes what it decrypted (wireguard.InjectorName).
func Spec(innerPort uint16, from ...string) (firewall.Spec, error) {
	if len(from) == 0 || innerPort == 0 {
		return firewall.Spec{}, fmt.Errorf("WAN admission needs the WireGuard interface and the inner VXLAN port")
	}
	match := []firewall.Match{firewall.UDPDport(innerPort)}
	for _, name := range from {
		match = append(match, firewall.IifNameNot(name))
	}
	s := firewall.Spec{Chains: []firewall.Chain{{
		Name: "input", Hook: firewall.Input, Priority: firewall.PriorityFilter - 10,
		Rules: []firewall.Rule{{
			Match: match, Counter: true, Verdict: firewall.Drop,
			Comment: "inner VXLAN only through WireGuard",
		}},
	}}}
	return s, s.Validate()
}
