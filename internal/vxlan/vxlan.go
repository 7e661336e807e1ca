// Package vxlan holds what the node agent's data plane and the edge's WAN
// tunnels share about the kernel's VXLAN devices: whether a device can be
// kept as the one wanted, or must be made again.
package vxlan

import (
	"fmt"

	"github.com/vishvananda/netlink"
)

// Differs says which attribute of have, that the kernel cannot change in
// place, differs from want, or "" when have can be kept. Both are
// point-to-point devices with static forwarding: no learning, no ARP proxy
// in the kernel's sense unless wanted, no multicast group, not flow-based.
func Differs(have netlink.Link, want *netlink.Vxlan) string {
	v, ok := have.(*netlink.Vxlan)
	switch {
	case !ok:
		return "type " + have.Type()
	case v.VxlanId != want.VxlanId:
		return fmt.Sprintf("VNI %d", v.VxlanId)
	case !v.SrcAddr.Equal(want.SrcAddr):
		return fmt.Sprintf("local %s", v.SrcAddr)
	case v.VtepDevIndex != want.VtepDevIndex:
		return fmt.Sprintf("underlay index %d", v.VtepDevIndex)
	case v.Port != want.Port:
		return fmt.Sprintf("port %d", v.Port)
	case v.Learning != want.Learning || v.Proxy != want.Proxy:
		return fmt.Sprintf("learning %t proxy %t", v.Learning, v.Proxy)
	case len(v.Group) > 0 && !v.Group.IsUnspecified():
		return fmt.Sprintf("group %s", v.Group)
	case v.FlowBased || v.L2miss || v.L3miss:
		return "external or miss notifications"
	}
	return ""
}
