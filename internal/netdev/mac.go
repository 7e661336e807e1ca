package netdev

import (
	"net"
	"slices"
)

// MAC is an Ethernet address usable as a map key.
type MAC [6]byte

// MACOf returns hw as a MAC, ok=false unless it has 6 bytes.
func MACOf(hw net.HardwareAddr) (m MAC, ok bool) {
	if len(hw) != len(m) {
		return m, false
	}
	copy(m[:], hw)
	return m, true
}

func (m MAC) String() string { return net.HardwareAddr(m[:]).String() }

// HW returns m as a new net.HardwareAddr, which the caller owns.
func (m MAC) HW() net.HardwareAddr { return net.HardwareAddr(append([]byte(nil), m[:]...)) }

// IsZero reports whether m is all zeros: in a VXLAN FDB, the entry for
// broadcast, multicast and unknown unicast.
func (m MAC) IsZero() bool { return m == MAC{} }

// IsUnicast reports whether m is an address a station may hold: not group,
// not all zeros.
func (m MAC) IsUnicast() bool { return m[0]&1 == 0 && !m.IsZero() }

// Equal reports whether hw is m.
func (m MAC) Equal(hw net.HardwareAddr) bool {
	got, ok := MACOf(hw)
	return ok && got == m
}

// Compare orders MACs bytewise.
func (m MAC) Compare(o MAC) int { return slices.Compare(m[:], o[:]) }
