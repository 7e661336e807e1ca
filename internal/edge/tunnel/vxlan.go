package tunnel

import (
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"slices"

	"github.com/vishvananda/netlink"

	"switchboard/internal/netdev"
	"switchboard/internal/netdev/devname"
)

// DefaultPort is the UDP port of the WAN VXLAN ports. It must differ from
// the intra-cluster VXLAN port (4789) because the edge shares its gateway
// node's namespace with the agent's sbvx<VNI> devices, and Linux keeps one
// VXLAN socket per (namespace, family, UDP port), bound to every address,
// demultiplexed by VNI alone: on the same port, a link whose inter-cluster
// ID equals a local network's VNI could not be created (EEXIST), and a
// packet from the WAN could be delivered into the intra-cluster network
// with that VNI. 4790 is free on common CNIs (flannel and Cilium use 8472
// or 4789, Calico 4789, Geneve 6081); it is IANA's VXLAN-GPE port, so a
// node running VXLAN-GPE needs WAN.Port set to another.
const DefaultPort = 4790

// withDefaults checks that w.Local is a unicast address, unmaps it, and
// fills in port when w.Port is 0.
func (w WAN) withDefaults(port uint16) (WAN, error) {
	local := w.Local.Unmap()
	if !local.IsValid() || local.IsUnspecified() || local.IsMulticast() || local.Zone() != "" {
		return w, fmt.Errorf("WAN address %q is not a unicast address", w.Local)
	}
	w.Local = local
	if w.Port == 0 {
		w.Port = port
	}
	return w, nil
}

// WAN is where the tunnel ports send from.
type WAN struct {
	Device string     // the interface that holds Local
	Local  netip.Addr // the edge's WAN address, source of every packet
	Port   uint16     // UDP port, local and remote; 0 is DefaultPort
}

// VXLAN is a Tunnel of plain VXLAN devices sbwx<ID>: VNI ID, UDP port
// WAN.Port, local address WAN.Local on WAN.Device, address learning and ARP
// proxy off. Broadcast, multicast and unknown unicast go to every remote
// edge of the link (head-end replication: one all-zeros FDB entry per
// endpoint); unicast to a known member MAC goes to its edge alone.
type VXLAN struct {
	h      *netlink.Handle
	dev    *netdev.Devices // on h
	wan    WAN
	wanIdx int // index of WAN.Device
	log    *slog.Logger
}

var _ Tunnel = (*VXLAN)(nil)

// NewVXLAN returns a VXLAN tunnel that programs the namespace of h (which
// the caller owns and closes) and sends from wan. It fails if wan.Device
// does not exist or wan.Local is not a unicast address. log may be nil.
func NewVXLAN(h *netlink.Handle, wan WAN, log *slog.Logger) (*VXLAN, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	wan, err := wan.withDefaults(DefaultPort)
	if err != nil {
		return nil, err
	}
	l, err := h.LinkByName(wan.Device)
	if err != nil {
		return nil, fmt.Errorf("find WAN device %q: %w", wan.Device, err)
	}
	return &VXLAN{h: h, dev: netdev.New(h, log), wan: wan, wanIdx: l.Attrs().Index, log: log}, nil
}

// Connect needs nothing: every plain VXLAN port sends to its remotes'
// WAN addresses itself.
func (v *VXLAN) Connect([]Remote) error { return nil }

// PortName returns the name of link id's VXLAN port, sbwx<ID>: at most 12
// characters.
func PortName(id uint32) string { return devname.Numbered(devname.PrefixTunnelPort, id) }

// ParsePortName returns the link ID of a VXLAN port name, ok=false for any
// name PortName would not make.
func ParsePortName(name string) (id uint32, ok bool) {
	return devname.ParseNumbered(devname.PrefixTunnelPort, name)
}

// Overhead is 50 bytes over an IPv4 WAN, 70 over IPv6.
func (v *VXLAN) Overhead() int { return netdev.VXLANOverhead(v.wan.Local) }

func (v *VXLAN) want(p Port) *netlink.Vxlan {
	la := netlink.NewLinkAttrs()
	la.Name, la.MTU = PortName(p.ID), p.MTU
	return &netlink.Vxlan{
		LinkAttrs:    la,
		VxlanId:      int(p.ID),
		VtepDevIndex: v.wanIdx,
		SrcAddr:      net.IP(v.wan.Local.AsSlice()),
		Port:         int(v.wan.Port),
		Learning:     false,
		Proxy:        false,
	}
}

// Ensure makes sbwx<ID> match p. A device whose immutable attributes (VNI,
// local address, WAN device, port, learning, proxy) differ is replaced;
// MTU, addresses (none) and up state are fixed in place; its own FDB
// entries are made exactly p's. The entries of the bridge it is a port of
// are the bridge's.
func (v *VXLAN) Ensure(p Port) (string, error) {
	if p.ID > MaxID {
		return "", fmt.Errorf("link ID %d is above %d", p.ID, MaxID)
	}
	fdb, err := wantFDB(p.Remotes, v.wan.Local)
	if err != nil {
		return "", fmt.Errorf("link %d: %w", p.ID, err)
	}
	want := v.want(p)
	l, err := v.dev.EnsureVXLAN(want, nil)
	if err != nil {
		return "", err
	}
	return want.Name, v.dev.SyncSelfFDB(l, fdb)
}

// Remove deletes sbwx<id>.
func (v *VXLAN) Remove(id uint32) error {
	name := PortName(id)
	deleted, err := v.dev.Delete(name)
	if deleted {
		v.log.Info("deleted tunnel port", "dev", name)
	}
	return err
}

// IDs returns the IDs of every sbwx<ID> device, sorted.
func (v *VXLAN) IDs() ([]uint32, error) {
	links, err := v.h.LinkList()
	if err != nil {
		return nil, fmt.Errorf("list links: %w", err)
	}
	var out []uint32
	for _, l := range links {
		if id, ok := ParsePortName(l.Attrs().Name); ok {
			out = append(out, id)
		}
	}
	slices.Sort(out)
	return out, nil
}
