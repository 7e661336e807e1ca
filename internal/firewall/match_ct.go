package firewall

import (
	"github.com/google/nftables"
	"github.com/google/nftables/binaryutil"
	"github.com/google/nftables/expr"
)

// Connection-tracking states and status bits (linux/netfilter/nf_conntrack_common.h).
const (
	ctStateEstablished = 1 << 1 // NF_CT_STATE_BIT(IP_CT_ESTABLISHED): 1 << (0+1)
	ctStateRelated     = 1 << 2 // NF_CT_STATE_BIT(IP_CT_RELATED): 1 << (1+1); bit 0 is invalid
	ipsDstNAT          = 1 << 5 // IPS_DST_NAT
)

// CtStateEstablished matches packets of connections already seen both ways,
// and those related to one (`ct state established,related`): the replies
// and follow-ups that a stateful rule set lets through before any other
// rule. Untracked packets do not match.
func CtStateEstablished() Match {
	return ctBits("ct state established,related", expr.CtKeySTATE, ctStateEstablished|ctStateRelated)
}

// CtStatusDNAT matches packets of connections whose destination this node
// rewrote (`ct status dnat`): in forward, traffic to a Service that
// kube-proxy (or any DNAT rule) sent on to one of its endpoints.
func CtStatusDNAT() Match { return ctBits("ct status dnat", expr.CtKeySTATUS, ipsDstNAT) }

// ctBits matches when any of the bits is set in the conntrack key, a
// host-endian 32-bit word.
func ctBits(text string, key expr.CtKey, bits uint32) Match {
	return Match{
		text: text,
		build: func(map[string]*nftables.Set) []expr.Any {
			zero := []byte{0, 0, 0, 0}
			return []expr.Any{
				&expr.Ct{Register: reg, Key: key},
				&expr.Bitwise{SourceRegister: reg, DestRegister: reg, Len: 4, Mask: binaryutil.NativeEndian.PutUint32(bits), Xor: zero},
				&expr.Cmp{Op: expr.CmpOpNeq, Register: reg, Data: zero},
			}
		},
	}
}

// DAddrIn matches packets of family t whose destination address is in the
// named set, which must be of type t (`ip daddr @SET`, or ip6 for IPv6).
// Packets of the other family do not match.
func DAddrIn(t AddrType, set string) Match { return addrIn(t, "daddr", set, false) }

// DAddrNotIn matches packets of family t whose destination address is not
// in the named set (`ip daddr != @SET`). Packets of the other family do not
// match.
func DAddrNotIn(t AddrType, set string) Match { return addrIn(t, "daddr", set, true) }
