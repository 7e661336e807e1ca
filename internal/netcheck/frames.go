package netcheck

import (
	"encoding/binary"
	"fmt"
	"net"
	"net/netip"
	"strings"
)

// Raw probe frames come in kinds, each the shape of a frame that a pod
// could use to reach into another network: a broadcast of the probe
// EtherType, an ARP request, an IPv6 neighbour solicitation, and a unicast
// frame with a forged source MAC. Each carries the probe magic and its
// marker somewhere after the Ethernet header (ARP in its padding, ND in an
// experimental option), which is all a FrameCounter looks for.

// FrameKind is the kind of a raw probe frame.
type FrameKind string

// The kinds of raw probe frames.
const (
	KindBroadcast FrameKind = "broadcast" // EtherType ProbeEtherType to ff:ff:ff:ff:ff:ff
	KindARP       FrameKind = "arp"       // ARP request who-has Target, marker in the padding
	KindND        FrameKind = "nd"        // IPv6 neighbour solicitation for Target, marker in an option
	KindSpoof     FrameKind = "spoof"     // EtherType ProbeEtherType from SrcMAC to the unicast DstMAC
)

// FrameKinds lists the kinds in the order the command line shows them.
var FrameKinds = []FrameKind{KindBroadcast, KindARP, KindND, KindSpoof}

// Default targets of ARP and ND probes: link-local addresses that no lab
// network hands out.
var (
	DefaultARPTarget = netip.MustParseAddr("169.254.255.254")
	DefaultNDTarget  = netip.MustParseAddr("fe80::ffff:ffff:ffff:fffe")
)

// FrameSpec says which raw probe frame to send.
type FrameSpec struct {
	Kind   FrameKind // "" is KindBroadcast
	Marker string    // required; no newline
	// Target is the address an ARP (IPv4) or ND (IPv6) probe asks for;
	// unset, the kind's default target.
	Target netip.Addr
	// SrcMAC is the source MAC of a spoof probe; unset, the sending
	// interface's own.
	SrcMAC net.HardwareAddr
	// DstMAC is the unicast destination MAC of a spoof probe (required
	// for spoof).
	DstMAC net.HardwareAddr
}

// Sender is what a frame is sent from: an interface's MAC and addresses.
type Sender struct {
	MAC   net.HardwareAddr
	Addrs []netip.Addr
}

// Frame returns the Ethernet frame (header to payload, no FCS) that s
// describes, as sent by from: ARP and ND take their sender addresses from
// from.Addrs (0.0.0.0 and :: when it has none of the family).
func (s FrameSpec) Frame(from Sender) ([]byte, error) {
	if s.Marker == "" || strings.ContainsRune(s.Marker, '\n') {
		return nil, fmt.Errorf("probe marker %q: give a marker without newlines", s.Marker)
	}
	if len(from.MAC) != 6 {
		return nil, fmt.Errorf("sender MAC %q: want a 6-byte Ethernet address", from.MAC)
	}
	switch s.Kind {
	case "", KindBroadcast:
		return ProbeFrame(from.MAC, s.Marker), nil
	case KindARP:
		t := s.Target
		if !t.IsValid() {
			t = DefaultARPTarget
		}
		if !t.Is4() {
			return nil, fmt.Errorf("ARP target %s: want an IPv4 address", t)
		}
		return ARPRequest(from.MAC, senderAddr(from.Addrs, false), t, s.Marker), nil
	case KindND:
		t := s.Target
		if !t.IsValid() {
			t = DefaultNDTarget
		}
		if !t.Is6() || t.Is4In6() {
			return nil, fmt.Errorf("ND target %s: want an IPv6 address", t)
		}
		return NeighborSolicitation(from.MAC, senderAddr(from.Addrs, true), t, s.Marker), nil
	case KindSpoof:
		src := s.SrcMAC
		if src == nil {
			src = from.MAC
		}
		if len(src) != 6 || len(s.DstMAC) != 6 {
			return nil, fmt.Errorf("spoof probe from %q to %q: give 6-byte source and destination MACs", src, s.DstMAC)
		}
		if s.DstMAC[0]&1 != 0 {
			return nil, fmt.Errorf("spoof probe destination %s: want a unicast MAC (the broadcast kind covers group addresses)", s.DstMAC)
		}
		return probeFrame(s.DstMAC, src, s.Marker), nil
	default:
		return nil, fmt.Errorf("probe kind %q: want one of %v", s.Kind, FrameKinds)
	}
}

// senderAddr returns the address an ARP (v6 false) or ND probe gives as
// its sender: the first of the family in addrs, link-local first for
// IPv6, else the unspecified address.
func senderAddr(addrs []netip.Addr, v6 bool) netip.Addr {
	var found netip.Addr
	for _, a := range addrs {
		a = a.Unmap()
		switch {
		case !v6 && a.Is4():
			return a
		case v6 && a.Is6() && a.IsLinkLocalUnicast():
			return a
		case v6 && a.Is6() && !found.IsValid():
			found = a
		}
	}
	if found.IsValid() {
		return found
	}
	if v6 {
		return netip.IPv6Unspecified()
	}
	return netip.IPv4Unspecified()
}

// probePayload is the magic, the marker and a newline.
func probePayload(marker string) []byte {
	return append([]byte(probeMagic+marker), '\n')
}

// ethHeader returns an Ethernet header with room for n more bytes.
func ethHeader(dst, src net.HardwareAddr, etherType uint16, n int) []byte {
	f := make([]byte, 0, 14+n)
	f = append(f, dst...)
	f = append(f, src...)
	return binary.BigEndian.AppendUint16(f, etherType)
}

// ARPRequest returns a broadcast ARP request (RFC 826, Ethernet/IPv4) from
// srcMAC, srcIP asking who has target, followed by the probe magic and
// marker where a minimum-size frame has its padding.
func ARPRequest(srcMAC net.HardwareAddr, srcIP, target netip.Addr, marker string) []byte {
	pl := probePayload(marker)
	f := ethHeader(broadcastMAC, srcMAC, 0x0806, 28+len(pl))
	f = binary.BigEndian.AppendUint16(f, 1)      // hardware: Ethernet
	f = binary.BigEndian.AppendUint16(f, 0x0800) // protocol: IPv4
	f = append(f, 6, 4)                          // address lengths
	f = binary.BigEndian.AppendUint16(f, 1)      // request
	f = append(f, srcMAC...)
	f = append(f, srcIP.AsSlice()...)
	f = append(f, make([]byte, 6)...) // target MAC: unknown
	f = append(f, target.AsSlice()...)
	return append(f, pl...)
}

// ndMarkerOption is the type of the ND option that carries the marker: one
// of the two experimental types (RFC 4727), which receivers ignore.
const ndMarkerOption = 253

// NeighborSolicitation returns an IPv6 neighbour solicitation (RFC 4861)
// for target, from srcMAC and srcIP to target's solicited-node multicast
// address and MAC, with a source link-layer address option (unless srcIP
// is unspecified, as in duplicate address detection) and the probe magic
// and marker in an experimental option, zero-padded to 8 bytes.
func NeighborSolicitation(srcMAC net.HardwareAddr, srcIP, target netip.Addr, marker string) []byte {
	t := target.As16()
	dst := netip.AddrFrom16([16]byte{0xff, 0x02, 10: 0, 11: 0x01, 12: 0xff, 13: t[13], 14: t[14], 15: t[15]})
	dstMAC := net.HardwareAddr{0x33, 0x33, 0xff, t[13], t[14], t[15]}

	icmp := []byte{135, 0, 0, 0, 0, 0, 0, 0} // type, code, checksum, reserved
	icmp = append(icmp, t[:]...)
	if !srcIP.IsUnspecified() {
		icmp = append(icmp, 1, 1) // source link-layer address, 8 bytes
		icmp = append(icmp, srcMAC...)
	}
	pl := probePayload(marker)
	units := (2 + len(pl) + 7) / 8
	icmp = append(icmp, ndMarkerOption, byte(units))
	icmp = append(icmp, pl...)
	icmp = append(icmp, make([]byte, units*8-2-len(pl))...)
	binary.BigEndian.PutUint16(icmp[2:], icmpv6Checksum(srcIP, dst, icmp))

	f := ethHeader(dstMAC, srcMAC, 0x86DD, 40+len(icmp))
	f = append(f, 0x60, 0, 0, 0) // version 6, no traffic class or flow label
	f = binary.BigEndian.AppendUint16(f, uint16(len(icmp)))
	f = append(f, 58, 255) // next header ICMPv6, hop limit 255 (RFC 4861 7.1.1)
	f = append(f, srcIP.AsSlice()...)
	f = append(f, dst.AsSlice()...)
	return append(f, icmp...)
}

// icmpv6Checksum returns the checksum of an ICMPv6 message whose checksum
// field is zero, over the IPv6 pseudo-header (RFC 8200 8.1) and msg.
func icmpv6Checksum(src, dst netip.Addr, msg []byte) uint16 {
	var sum uint32
	add := func(b []byte) {
		for i := 0; i+1 < len(b); i += 2 {
			sum += uint32(b[i])<<8 | uint32(b[i+1])
		}
		if len(b)%2 == 1 {
			sum += uint32(b[len(b)-1]) << 8
		}
	}
	add(src.AsSlice())
	add(dst.AsSlice())
	add(binary.BigEndian.AppendUint32(nil, uint32(len(msg))))
	add([]byte{0, 0, 0, 58})
	add(msg)
	for sum > 0xffff {
		sum = sum&0xffff + sum>>16
	}
	return ^uint16(sum)
}
