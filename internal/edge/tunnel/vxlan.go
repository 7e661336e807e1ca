package tunnel

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netlink/nl"
	"golang.org/x/sys/unix"

	"switchboard/internal/vxlan"
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

// PortPrefix starts the name of every VXLAN tunnel port: sbwx<ID>.
const PortPrefix = "sbwx"

const (
	overheadIPv4 = 50 // outer Ethernet 14 + IPv4 20 + UDP 8 + VXLAN 8
	overheadIPv6 = 70 // outer Ethernet 14 + IPv6 40 + UDP 8 + VXLAN 8
)

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
	h   *netlink.Handle
	wan WAN
	dev int // index of WAN.Device
	log *slog.Logger
}

var _ Tunnel = (*VXLAN)(nil)

// NewVXLAN returns a VXLAN tunnel that programs the namespace of h (which
// the caller owns and closes) and sends from wan. It fails if wan.Device
// does not exist or wan.Local is not a unicast address. log may be nil.
func NewVXLAN(h *netlink.Handle, wan WAN, log *slog.Logger) (*VXLAN, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	local := wan.Local.Unmap()
	if !local.IsValid() || local.IsUnspecified() || local.IsMulticast() || local.Zone() != "" {
		return nil, fmt.Errorf("WAN address %q is not a unicast address", wan.Local)
	}
	wan.Local = local
	if wan.Port == 0 {
		wan.Port = DefaultPort
	}
	l, err := h.LinkByName(wan.Device)
	if err != nil {
		return nil, fmt.Errorf("find WAN device %q: %w", wan.Device, err)
	}
	return &VXLAN{h: h, wan: wan, dev: l.Attrs().Index, log: log}, nil
}

// PortName returns the name of link id's VXLAN port: at most 12 characters.
func PortName(id uint32) string { return PortPrefix + strconv.FormatUint(uint64(id), 10) }

// ParsePortName returns the link ID of a VXLAN port name, ok=false for any
// name PortName would not make.
func ParsePortName(name string) (id uint32, ok bool) {
	rest, found := strings.CutPrefix(name, PortPrefix)
	n, err := strconv.ParseUint(rest, 10, 32)
	if !found || err != nil || n > MaxID || strconv.FormatUint(n, 10) != rest {
		return 0, false
	}
	return uint32(n), true
}

// Overhead is 50 bytes over an IPv4 WAN, 70 over IPv6.
func (v *VXLAN) Overhead() int {
	if v.wan.Local.Is4() {
		return overheadIPv4
	}
	return overheadIPv6
}

func (v *VXLAN) want(p Port) *netlink.Vxlan {
	la := netlink.NewLinkAttrs()
	la.Name, la.MTU = PortName(p.ID), p.MTU
	return &netlink.Vxlan{
		LinkAttrs:    la,
		VxlanId:      int(p.ID),
		VtepDevIndex: v.dev,
		SrcAddr:      net.IP(v.wan.Local.AsSlice()),
		Port:         int(v.wan.Port),
		Learning:     false,
		Proxy:        false,
	}
}

// Ensure makes sbwx<ID> match p. A device whose immutable attributes (VNI,
// local address, WAN device, port, learning, proxy) differ is replaced; MTU
// and up state are fixed in place; FDB entries are made exactly p's.
func (v *VXLAN) Ensure(p Port) (string, error) {
	if p.ID > MaxID {
		return "", fmt.Errorf("link ID %d is above %d", p.ID, MaxID)
	}
	fdb, err := wantFDB(p.Remotes, v.wan.Local)
	if err != nil {
		return "", fmt.Errorf("link %d: %w", p.ID, err)
	}
	want := v.want(p)
	l, err := v.ensureDevice(want)
	if err != nil {
		return "", err
	}
	return want.Name, v.syncFDB(l, fdb)
}

func (v *VXLAN) ensureDevice(want *netlink.Vxlan) (netlink.Link, error) {
	name := want.Name
	l, err := v.h.LinkByName(name)
	if err != nil && !isNotFound(err) {
		return nil, fmt.Errorf("find %q: %w", name, err)
	}
	if l != nil {
		if why := vxlan.Differs(l, want); why != "" {
			v.log.Info("replacing tunnel port", "dev", name, "differs", why)
			if err := v.h.LinkDel(l); err != nil && !isNotFound(err) {
				return nil, fmt.Errorf("delete %q: %w", name, err)
			}
			l = nil
		}
	}
	if l == nil {
		if err := v.h.LinkAdd(want); err != nil {
			return nil, fmt.Errorf("add VXLAN device %q (port %d): %w", name, want.Port, err)
		}
		if l, err = v.h.LinkByName(name); err != nil {
			return nil, fmt.Errorf("find %q: %w", name, err)
		}
		// A bridge port, never an IP host.
		if err := v.h.LinkSetIP6AddrGenMode(l, nl.IN6_ADDR_GEN_MODE_NONE); err != nil {
			return nil, fmt.Errorf("turn off IPv6 addresses on %q: %w", name, err)
		}
		v.log.Info("created tunnel port", "dev", name, "vni", want.VxlanId, "mtu", want.MTU)
	}
	if l.Attrs().MTU != want.MTU {
		if err := v.h.LinkSetMTU(l, want.MTU); err != nil {
			return nil, fmt.Errorf("set MTU of %q: %w", name, err)
		}
	}
	if l.Attrs().Flags&net.FlagUp == 0 {
		if err := v.h.LinkSetUp(l); err != nil {
			return nil, fmt.Errorf("set %q up: %w", name, err)
		}
	}
	return l, nil
}

// readFDB returns the device's own FDB entries (not its bridge's).
func (v *VXLAN) readFDB(l netlink.Link) ([]fdbEntry, error) {
	var entries []netlink.Neigh
	var err error
	for range 5 { // repeat dumps interrupted by a concurrent change
		if entries, err = v.h.NeighList(l.Attrs().Index, unix.AF_BRIDGE); !errors.Is(err, netlink.ErrDumpInterrupted) {
			break
		}
	}
	if err != nil {
		return nil, fmt.Errorf("list FDB of %q: %w", l.Attrs().Name, err)
	}
	var out []fdbEntry
	for _, n := range entries {
		m, ok := macOf(n.HardwareAddr)
		if !ok || n.MasterIndex != 0 || n.Flags&netlink.NTF_MASTER != 0 {
			continue
		}
		if dst, ok := netip.AddrFromSlice(n.IP); ok {
			out = append(out, fdbEntry{MAC: m, Dst: dst.Unmap()})
		}
	}
	slices.SortFunc(out, compareFDB)
	return out, nil
}

func (v *VXLAN) syncFDB(l netlink.Link, want []fdbEntry) error {
	have, err := v.readFDB(l)
	if err != nil {
		return err
	}
	for _, op := range diffFDB(have, want) {
		n := &netlink.Neigh{
			LinkIndex:    l.Attrs().Index,
			Family:       unix.AF_BRIDGE,
			Flags:        netlink.NTF_SELF,
			State:        netlink.NUD_PERMANENT,
			HardwareAddr: net.HardwareAddr(op.Entry.MAC[:]),
			IP:           net.IP(op.Entry.Dst.AsSlice()),
		}
		switch op.Op {
		case "append":
			err = v.h.NeighAppend(n)
		case "replace":
			err = v.h.NeighSet(n)
		case "del":
			if err = v.h.NeighDel(n); isNotFound(err) {
				err = nil
			}
		}
		if err != nil {
			return fmt.Errorf("apply %q to the FDB of %q: %w", op.String(), l.Attrs().Name, err)
		}
		v.log.Debug("fdb", "dev", l.Attrs().Name, "op", op.String())
	}
	return nil
}

// Remove deletes sbwx<id>.
func (v *VXLAN) Remove(id uint32) error {
	name := PortName(id)
	l, err := v.h.LinkByName(name)
	if isNotFound(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("find %q: %w", name, err)
	}
	if err := v.h.LinkDel(l); err != nil && !isNotFound(err) {
		return fmt.Errorf("delete %q: %w", name, err)
	}
	v.log.Info("deleted tunnel port", "dev", name)
	return nil
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

// isNotFound reports whether err means the link or entry is gone.
func isNotFound(err error) bool {
	var lnf netlink.LinkNotFoundError
	return errors.As(err, &lnf) || errors.Is(err, unix.ENODEV) || errors.Is(err, unix.ENOENT)
}
