package netdev

import (
	"fmt"
	"net/netip"

	"github.com/vishvananda/netlink"
)

// Bytes VXLAN adds to each frame on the underlay.
const (
	OverheadIPv4 = 50 // outer Ethernet 14 + IPv4 20 + UDP 8 + VXLAN 8
	OverheadIPv6 = 70 // outer Ethernet 14 + IPv6 40 + UDP 8 + VXLAN 8
)

// InterClusterOverhead is the most an inter-cluster link adds to a frame on
// the WAN: the edge's WireGuard over IPv6 (outer IPv6 40 + UDP 8 +
// WireGuard 32) and the VXLAN over IPv6 inside it (70). Package
// edge/tunnel checks that its WireGuard tunnel stays within it.
const InterClusterOverhead = 40 + 8 + 32 + OverheadIPv6

// VXLANOverhead returns the bytes VXLAN adds to each frame sent from the
// underlay address local: OverheadIPv6 for IPv6, else OverheadIPv4.
func VXLANOverhead(local netip.Addr) int {
	if local.Unmap().Is6() {
		return OverheadIPv6
	}
	return OverheadIPv4
}

// VXLANDiffers says which attribute of have, that the kernel cannot change
// in place, differs from want, or "" when have can be kept. Switchboard's
// VXLAN devices are point-to-point with static forwarding: no learning, no
// multicast group, not flow-based (external), no miss notifications; the
// ARP/ND proxy is as wanted.
func VXLANDiffers(have netlink.Link, want *netlink.Vxlan) string {
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

// EnsureVXLAN makes sure the VXLAN device want.Name matches want and is up
// with want.MTU and no addresses. A device whose immutable attributes
// differ (VXLANDiffers) is replaced; its FDB and neighbour entries go with
// it, and the caller's SyncFDB puts them back. If br is not nil, the device
// is made a port of br with bridge-port learning off before it comes up:
// the bridge forwards to remote MACs by the static entries of SyncFDB, never
// by what it learns.
func (d *Devices) EnsureVXLAN(want *netlink.Vxlan, br netlink.Link) (netlink.Link, error) {
	name := want.Name
	l, err := d.Find(name, "")
	if err != nil {
		return nil, err
	}
	if l != nil {
		if why := VXLANDiffers(l, want); why != "" {
			d.log.Info("replacing VXLAN device", "dev", name, "differs", why)
			if err := d.h.LinkDel(l); err != nil && !IsNotFound(err) {
				return nil, fmt.Errorf("delete %q: %w", name, err)
			}
			l = nil
		}
	}
	if l == nil {
		if err := d.h.LinkAdd(want); err != nil {
			return nil, fmt.Errorf("add VXLAN device %q (port %d): %w", name, want.Port, err)
		}
		if l, err = d.Created(name, "vxlan"); err != nil {
			return nil, err
		}
		d.log.Info("created VXLAN device", "dev", name, "vni", want.VxlanId, "mtu", want.MTU)
	}
	if br != nil {
		if err := d.Enslave(l, br); err != nil {
			return nil, err
		}
		pi, err := d.h.LinkGetProtinfo(l)
		if err != nil {
			return nil, fmt.Errorf("read bridge port settings of %q: %w", name, err)
		}
		if pi.Learning {
			if err := d.h.LinkSetLearning(l, false); err != nil {
				return nil, fmt.Errorf("turn off learning on %q: %w", name, err)
			}
		}
	}
	return l, d.Fix(l, want.MTU)
}
