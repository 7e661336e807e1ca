package firewall

import (
	"encoding/binary"
	"fmt"
	"strings"

	"github.com/google/nftables"
	"github.com/google/nftables/expr"
	"golang.org/x/sys/unix"
)

// Match is one condition of a Rule, made by one of the constructors in
// this file. Its zero value is not valid.
type Match struct {
	text  string   // nft syntax
	set   string   // the Set it looks up, if any,
	typ   AddrType // and the type that Set must have
	err   error    // what is wrong with the constructor's arguments
	build func(sets map[string]*nftables.Set) []expr.Any
}

// String renders the match in nft syntax.
func (m Match) String() string { return m.text }

// reg is the register every match loads into and compares: each match is
// done with it before the next one loads.
const reg = 1

// UDPDport matches UDP datagrams to port (`udp dport PORT`).
func UDPDport(port uint16) Match {
	return Match{
		text: fmt.Sprintf("udp dport %d", port),
		build: func(map[string]*nftables.Set) []expr.Any {
			return []expr.Any{
				&expr.Meta{Key: expr.MetaKeyL4PROTO, Register: reg},
				&expr.Cmp{Op: expr.CmpOpEq, Register: reg, Data: []byte{unix.IPPROTO_UDP}},
				&expr.Payload{DestRegister: reg, Base: expr.PayloadBaseTransportHeader, Offset: 2, Len: 2},
				&expr.Cmp{Op: expr.CmpOpEq, Register: reg, Data: binary.BigEndian.AppendUint16(nil, port)},
			}
		},
	}
}

// ifNameSize is IFNAMSIZ: interface names have at most 15 bytes and a NUL.
const ifNameSize = 16

// IifName matches packets that came in on the interface pattern names
// (`iifname "PATTERN"`): an exact name, or a prefix followed by "*".
func IifName(pattern string) Match { return iifName(pattern, false) }

// IifNameNot matches packets that did not come in on the interface pattern
// names (`iifname != "PATTERN"`), including locally made ones.
func IifNameNot(pattern string) Match { return iifName(pattern, true) }

func iifName(pattern string, invert bool) Match {
	op, cmp := "", expr.CmpOpEq
	if invert {
		op, cmp = "!= ", expr.CmpOpNeq
	}
	m := Match{text: fmt.Sprintf("iifname %s%q", op, pattern)}
	prefix, wild := strings.CutSuffix(pattern, "*")
	if prefix == "" || len(prefix) >= ifNameSize || strings.ContainsAny(prefix, "*/\x00 ") {
		m.err = fmt.Errorf("invalid interface pattern %q: use a name of 1-15 characters, or such a prefix followed by *", pattern)
		return m
	}
	data := []byte(prefix)
	if !wild {
		data = append(data, 0) // the name ends here: "cni0" must not match "cni01"
	}
	m.build = func(map[string]*nftables.Set) []expr.Any {
		return []expr.Any{
			&expr.Meta{Key: expr.MetaKeyIIFNAME, Register: reg},
			&expr.Cmp{Op: cmp, Register: reg, Data: data},
		}
	}
	return m
}

// SAddrIn matches packets of family t whose source address is in the
// named set, which must be of type t (`ip saddr @SET`, or ip6 for IPv6).
// Packets of the other family do not match.
func SAddrIn(t AddrType, set string) Match { return addrIn(t, "saddr", set, false) }

// SAddrNotIn matches packets of family t whose source address is not in
// the named set, which must be of type t (`ip saddr != @SET`). Packets of
// the other family do not match.
func SAddrNotIn(t AddrType, set string) Match { return addrIn(t, "saddr", set, true) }

// addrIn matches packets of family t whose source (dir "saddr") or
// destination ("daddr") address is, or with invert is not, in the named set.
func addrIn(t AddrType, dir, set string, invert bool) Match {
	op := ""
	if invert {
		op = "!= "
	}
	// Where the address is in the IPv4 and the IPv6 header.
	off, n := uint32(12), uint32(4)
	switch {
	case dir == "daddr" && t == IPv6:
		off, n = 24, 16
	case dir == "daddr":
		off = 16
	case t == IPv6:
		off, n = 8, 16
	}
	return Match{
		text: fmt.Sprintf("%s %s %s@%s", t.keyword(), dir, op, set),
		set:  set,
		typ:  t,
		build: func(sets map[string]*nftables.Set) []expr.Any {
			return append(family(t),
				&expr.Payload{DestRegister: reg, Base: expr.PayloadBaseNetworkHeader, Offset: off, Len: n},
				lookup(sets[set], invert),
			)
		},
	}
}

// ipsSrcNAT is IPS_SRC_NAT, the conntrack status bit of a connection
// whose source was rewritten (SNAT or masquerade).
const ipsSrcNAT = 1 << 4

// CtStatusSNAT matches packets of connections whose source address or port
// this node rewrote (`ct status snat`): in postrouting after the srcnat
// priority, packets that a masquerade or SNAT rule just changed.
// Untracked packets do not match.
func CtStatusSNAT() Match { return ctBits("ct status snat", expr.CtKeySTATUS, ipsSrcNAT) }

func lookup(s *nftables.Set, invert bool) *expr.Lookup {
	return &expr.Lookup{SourceRegister: reg, SetName: s.Name, SetID: s.ID, Invert: invert}
}

// family matches packets of the address type's family (`meta nfproto`).
func family(t AddrType) []expr.Any {
	proto := byte(unix.NFPROTO_IPV4)
	if t == IPv6 {
		proto = unix.NFPROTO_IPV6
	}
	return []expr.Any{
		&expr.Meta{Key: expr.MetaKeyNFPROTO, Register: reg},
		&expr.Cmp{Op: expr.CmpOpEq, Register: reg, Data: []byte{proto}},
	}
}
