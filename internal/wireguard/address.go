package wireguard

import (
	"crypto/sha256"
	"net/netip"

	"golang.zx2c4.com/wireguard/wgctrl/wgtypes"
)

// Per-packet overhead of WireGuard on the WAN: the outer IP header, UDP
// (8 bytes) and WireGuard's data message header (16) and authentication
// tag (16). An inner packet of the tunnel's MTU makes an outer packet of
// MTU + overhead bytes.
const (
	OverheadIPv4 = 20 + 8 + 32 // 60
	OverheadIPv6 = 40 + 8 + 32 // 80
)

// Overhead returns the bytes WireGuard adds to each packet sent to or from
// a WAN address like wan (IPv4, or IPv4-mapped IPv6, counts as IPv4). The
// tunnel interface's MTU is at most the WAN MTU minus this.
func Overhead(wan netip.Addr) int {
	if wan.Unmap().Is4() {
		return OverheadIPv4
	}
	return OverheadIPv6
}

// tunnelSeed names the ULA global ID of tunnel addresses (RFC 4193: 40 bits
// of a hash), so that the prefix is not an arbitrary constant.
const tunnelSeed = "switchboard.dev/wireguard tunnel addresses"

// TunnelPrefix is the /64 that every tunnel address lies in: fd00::/8,
// then the first 40 bits of SHA-256(tunnelSeed) as the global ID, then
// subnet 0. Each interface holds its address with this length, so the
// kernel routes the whole prefix into the tunnel, and WireGuard picks the
// peer by its /128.
var TunnelPrefix = tunnelPrefix()

func tunnelPrefix() netip.Prefix {
	h := sha256.Sum256([]byte(tunnelSeed))
	var a [16]byte
	a[0] = 0xfd
	copy(a[1:6], h[:5])
	return netip.PrefixFrom(netip.AddrFrom16(a), 64)
}

// TunnelAddress returns the inner address of the engine whose public key
// is pub: TunnelPrefix, then the first 64 bits of SHA-256(pub) as the
// interface identifier. Every peer computes the same address from the same
// key. It is a pure function.
func TunnelAddress(pub wgtypes.Key) netip.Addr {
	h := sha256.Sum256(pub[:])
	a := TunnelPrefix.Addr().As16()
	copy(a[8:], h[:8])
	return netip.AddrFrom16(a)
}

// tunnelHost is TunnelAddress as a /128, the allowed IP of a peer.
func tunnelHost(pub wgtypes.Key) netip.Prefix {
	return netip.PrefixFrom(TunnelAddress(pub), 128)
}
