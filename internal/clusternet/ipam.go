package clusternet

import (
	"fmt"
	"net/netip"
)

// Gateway is the pods' next hop on a node: the first address of the
// node's pod CIDR, held (as a /32) by the host end of every pod interface.
func Gateway(cidr netip.Prefix) netip.Addr { return cidr.Masked().Addr().Next() }

// Allocate returns the lowest address of cidr that is not used, not the
// network's own address, not the gateway, and (IPv4) not the broadcast
// address. It is pure: the caller serialises allocations and records them
// (in the kernel: the pod interface's host end names the address).
func Allocate(cidr netip.Prefix, used map[netip.Addr]bool) (netip.Addr, error) {
	cidr = cidr.Masked()
	gw := Gateway(cidr)
	for a := gw.Next(); cidr.Contains(a); a = a.Next() {
		if a.Is4() && !cidr.Contains(a.Next()) {
			break // the broadcast address
		}
		if !used[a] {
			return a, nil
		}
	}
	return netip.Addr{}, fmt.Errorf("pod CIDR %s is full (%d addresses in use): remove pods from this node or give the cluster larger node CIDRs (kube-controller-manager --node-cidr-mask-size)", cidr, len(used))
}
