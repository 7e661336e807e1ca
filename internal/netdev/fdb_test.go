package netdev

import (
	"fmt"
	"net"
	"net/netip"
	"strings"
	"testing"
)

var (
	nodeB = netip.MustParseAddr("198.18.200.2")
	nodeC = netip.MustParseAddr("198.18.200.3")
	macB1 = mustMAC(net.HardwareAddr{0x02, 0, 0, 0, 0xb, 1})
	macB2 = mustMAC(net.HardwareAddr{0x02, 0, 0, 0, 0xb, 2})
	macC1 = mustMAC(net.HardwareAddr{0x02, 0, 0, 0, 0xc, 1})
)

func mustMAC(hw net.HardwareAddr) MAC {
	m, ok := MACOf(hw)
	if !ok {
		panic(hw)
	}
	return m
}

// opLines prints ops one a line, as golden text.
func opLines[T fmt.Stringer](ops []T) string {
	var b strings.Builder
	for i, op := range ops {
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(op.String())
	}
	return b.String()
}

func TestMAC(t *testing.T) {
	if _, ok := MACOf(net.HardwareAddr{2, 0, 0}); ok {
		t.Error("MACOf accepted a 3-byte address")
	}
	for _, tc := range []struct {
		m             MAC
		zero, unicast bool
	}{
		{MAC{}, true, false},
		{macB1, false, true},
		{mustMAC(net.HardwareAddr{1, 0, 0x5e, 0, 0, 1}), false, false},
		{mustMAC(net.HardwareAddr{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}), false, false},
	} {
		if tc.m.IsZero() != tc.zero || tc.m.IsUnicast() != tc.unicast {
			t.Errorf("%s: IsZero %t IsUnicast %t, want %t %t", tc.m, tc.m.IsZero(), tc.m.IsUnicast(), tc.zero, tc.unicast)
		}
	}
	hw := macB1.HW()
	hw[5] = 9
	if macB1[5] != 1 || !macB1.Equal(net.HardwareAddr{2, 0, 0, 0, 0xb, 1}) || macB1.Equal(hw) {
		t.Errorf("HW is not a copy, or Equal is wrong: %s, %s", macB1, hw)
	}
}

func TestDiffFDB(t *testing.T) {
	zero := MAC{}
	for _, tc := range []struct {
		name       string
		have, want FDB
		ops        []string // golden: the operations as bridge fdb would spell them
	}{
		{
			name: "empty to two nodes",
			want: FDB{
				Self:   []FDBEntry{{zero, nodeB}, {zero, nodeC}, {macB1, nodeB}, {macC1, nodeC}},
				Static: []MAC{macB1, macC1},
			},
			ops: []string{
				"append 00:00:00:00:00:00 dst 198.18.200.2 self permanent",
				"append 00:00:00:00:00:00 dst 198.18.200.3 self permanent",
				"replace 02:00:00:00:0b:01 dst 198.18.200.2 self permanent",
				"replace 02:00:00:00:0c:01 dst 198.18.200.3 self permanent",
				"replace 02:00:00:00:0b:01 master static",
				"replace 02:00:00:00:0c:01 master static",
			},
		},
		{
			name: "converged",
			have: FDB{Self: []FDBEntry{{zero, nodeB}, {macB1, nodeB}}, Static: []MAC{macB1}},
			want: FDB{Self: []FDBEntry{{zero, nodeB}, {macB1, nodeB}}, Static: []MAC{macB1}},
		},
		{
			name: "node c leaves",
			have: FDB{
				Self:   []FDBEntry{{zero, nodeB}, {zero, nodeC}, {macB1, nodeB}, {macC1, nodeC}},
				Static: []MAC{macC1, macB1},
			},
			want: FDB{Self: []FDBEntry{{zero, nodeB}, {macB1, nodeB}}, Static: []MAC{macB1}},
			ops: []string{
				"del 00:00:00:00:00:00 dst 198.18.200.3 self",
				"del 02:00:00:00:0c:01 dst 198.18.200.3 self",
				"del 02:00:00:00:0c:01 master",
			},
		},
		{
			name: "a MAC moves from b to c: replaced in place, nothing left to delete",
			have: FDB{Self: []FDBEntry{{zero, nodeB}, {macB1, nodeB}}, Static: []MAC{macB1}},
			want: FDB{Self: []FDBEntry{{zero, nodeC}, {macB1, nodeC}}, Static: []MAC{macB1}},
			ops: []string{
				"append 00:00:00:00:00:00 dst 198.18.200.3 self permanent",
				"replace 02:00:00:00:0b:01 dst 198.18.200.3 self permanent",
				"del 00:00:00:00:00:00 dst 198.18.200.2 self",
			},
		},
		{
			name: "a unicast MAC with two destinations keeps the wanted one",
			have: FDB{Self: []FDBEntry{{zero, nodeB}, {macB1, nodeB}, {macB1, nodeC}}, Static: []MAC{macB1}},
			want: FDB{Self: []FDBEntry{{zero, nodeB}, {macB1, nodeB}}, Static: []MAC{macB1}},
			ops:  []string{"del 02:00:00:00:0b:01 dst 198.18.200.3 self"},
		},
		{
			name: "a unicast MAC with two destinations, neither wanted: replace, then delete both",
			have: FDB{Self: []FDBEntry{{macB1, nodeB}, {macB1, nodeC}}},
			want: FDB{Self: []FDBEntry{{macB1, netip.MustParseAddr("198.18.200.4")}}},
			ops: []string{
				"replace 02:00:00:00:0b:01 dst 198.18.200.4 self permanent",
				"del 02:00:00:00:0b:01 dst 198.18.200.2 self",
				"del 02:00:00:00:0b:01 dst 198.18.200.3 self",
			},
		},
		{
			name: "learned bridge entries become static; strays go",
			have: FDB{Self: []FDBEntry{{zero, nodeB}, {macB1, nodeB}}, Learned: []MAC{macB2, macB1}},
			want: FDB{Self: []FDBEntry{{zero, nodeB}, {macB1, nodeB}}, Static: []MAC{macB1}},
			ops: []string{
				"replace 02:00:00:00:0b:01 master static",
				"del 02:00:00:00:0b:02 master",
			},
		},
		{
			name: "everything goes",
			have: FDB{Self: []FDBEntry{{macB1, nodeB}, {zero, nodeB}}, Static: []MAC{macB1}},
			ops: []string{
				"del 00:00:00:00:00:00 dst 198.18.200.2 self",
				"del 02:00:00:00:0b:01 dst 198.18.200.2 self",
				"del 02:00:00:00:0b:01 master",
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got, want := opLines(DiffFDB(tc.have, tc.want)), strings.Join(tc.ops, "\n"); got != want {
				t.Errorf("got:\n%s\nwant:\n%s", got, want)
			}
		})
	}
}

func TestDiffNeigh(t *testing.T) {
	ip := netip.MustParseAddr
	for _, tc := range []struct {
		name string
		have map[netip.Addr]NeighEntry
		want map[netip.Addr]MAC
		ops  []string
	}{
		{"empty", nil, nil, nil},
		{
			"add", nil, map[netip.Addr]MAC{ip("fd00::21"): macB1, ip("10.0.0.21"): macB1},
			[]string{"replace 10.0.0.21 lladdr 02:00:00:00:0b:01 nud permanent", "replace fd00::21 lladdr 02:00:00:00:0b:01 nud permanent"},
		},
		{
			"converged",
			map[netip.Addr]NeighEntry{ip("10.0.0.21"): {macB1, true}},
			map[netip.Addr]MAC{ip("10.0.0.21"): macB1},
			nil,
		},
		{
			"changed MAC, not permanent, stale",
			map[netip.Addr]NeighEntry{ip("10.0.0.21"): {macB1, true}, ip("10.0.0.22"): {macB2, false}, ip("10.0.0.9"): {macC1, true}},
			map[netip.Addr]MAC{ip("10.0.0.21"): macB2, ip("10.0.0.22"): macB2},
			[]string{
				"replace 10.0.0.21 lladdr 02:00:00:00:0b:02 nud permanent",
				"replace 10.0.0.22 lladdr 02:00:00:00:0b:02 nud permanent",
				"del 10.0.0.9",
			},
		},
	} {
		if got, want := opLines(DiffNeigh(tc.have, tc.want)), strings.Join(tc.ops, "\n"); got != want {
			t.Errorf("%s: got:\n%s\nwant:\n%s", tc.name, got, want)
		}
	}
}
