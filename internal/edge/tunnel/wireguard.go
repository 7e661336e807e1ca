package tunnel

import (
	"context"
	"fmt"
	"log/slog"
	"net/netip"
	"slices"
	"strconv"
	"time"

	"github.com/vishvananda/netlink"
	"golang.zx2c4.com/wireguard/wgctrl/wgtypes"

	"switchboard/internal/netdev"
	"switchboard/internal/wireguard"
)

// DefaultWireGuardPort is the UDP port of the WireGuard device on the WAN,
// WireGuard's customary one.
const DefaultWireGuardPort = 51820

// Device is what the WireGuard tunnel asks of the WireGuard engine;
// *wireguard.Engine has it.
type Device interface {
	Set(ctx context.Context, c wireguard.Config) error
	PublicKey() wgtypes.Key
}

// WireGuardOptions say how the edge's WireGuard device is made.
type WireGuardOptions struct {
	Device  Device
	Name    string // of the interface, e.g. "sbwg0"
	Netns   string // path of the edge's namespace; "" for the caller's
	KeyFile string // the private key file (see wireguard.LoadOrCreateKey)
	// Implementation is wireguard.Auto unless a test or the operator
	// (--wireguard-implementation) wants one.
	Implementation wireguard.Implementation
}

// WireGuard is a Tunnel whose ports are VXLAN devices carried inside one
// WireGuard device: the VXLAN ports send from this edge's tunnel address
// on the WireGuard interface to the remote edges' tunnel addresses (both
// derived from public keys, see wireguard.TunnelAddress), on UDP port
// DefaultPort; only WireGuard, on WAN.Port, crosses the WAN. A remote edge
// is a WireGuard peer whose endpoint is its WAN address and WAN.Port, and
// whose only allowed IP is its tunnel address, so a frame can enter a link
// only from a peer that holds the key the IDCO gave for it.
type WireGuard struct {
	h   *netlink.Handle
	wan WAN
	o   WireGuardOptions
	log *slog.Logger
	vx  *VXLAN // over the WireGuard interface, made by Connect
}

var _ Tunnel = (*WireGuard)(nil)

// NewWireGuard returns a WireGuard tunnel that programs the namespace of h
// (which the caller owns and closes) and sends to the WAN from wan; a zero
// wan.Port is DefaultWireGuardPort. Nothing is made until Connect.
func NewWireGuard(h *netlink.Handle, wan WAN, o WireGuardOptions, log *slog.Logger) (*WireGuard, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	wan, err := wan.withDefaults(DefaultWireGuardPort)
	if err != nil {
		return nil, err
	}
	if o.Device == nil || o.Name == "" || o.KeyFile == "" {
		return nil, fmt.Errorf("WireGuard tunnel needs a device, an interface name and a key file")
	}
	return &WireGuard{h: h, wan: wan, o: o, log: log}, nil
}

// Overhead is WireGuard's on the WAN (60 bytes over IPv4, 80 over IPv6)
// plus the inner VXLAN's over IPv6 (70).
func (w *WireGuard) Overhead() int {
	return wireguard.Overhead(w.wan.Local) + netdev.VXLANOverhead(netip.IPv6Unspecified())
}

// Connect makes the WireGuard device exist, up, with the MTU the WAN device
// leaves, and with exactly the peers of remotes (deduplicated by key). A
// remote without a public key is refused: it runs plain VXLAN.
func (w *WireGuard) Connect(remotes []Remote) error {
	wanDev, err := w.h.LinkByName(w.wan.Device)
	if err != nil {
		return fmt.Errorf("find WAN device %q: %w", w.wan.Device, err)
	}
	peers, err := w.peers(remotes)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	err = w.o.Device.Set(ctx, wireguard.Config{
		Name: w.o.Name, Netns: w.o.Netns, PrivateKeyFile: w.o.KeyFile,
		ListenPort: int(w.wan.Port), MTU: wanDev.Attrs().MTU - wireguard.Overhead(w.wan.Local),
		Peers: peers, Implementation: w.o.Implementation,
	})
	if err != nil {
		return fmt.Errorf("WireGuard device %s: %w", w.o.Name, err)
	}
	w.vx, err = NewVXLAN(w.h, WAN{Device: w.o.Name, Local: wireguard.TunnelAddress(w.o.Device.PublicKey()), Port: DefaultPort}, w.log)
	return err
}

// peers returns the WireGuard peers of remotes, sorted by key.
func (w *WireGuard) peers(remotes []Remote) ([]wireguard.Peer, error) {
	byKey := map[wgtypes.Key]wireguard.Peer{}
	for _, r := range remotes {
		k, err := remoteKey(r)
		if err != nil {
			return nil, err
		}
		ep := netip.AddrPortFrom(r.Endpoint.Unmap(), w.wan.Port).String()
		if prev, dup := byKey[k]; dup && prev.Endpoint != ep {
			return nil, fmt.Errorf("public key %s is given for two edges, %s and %s: one of them copied the other's key", r.PublicKey, prev.Endpoint, ep)
		}
		byKey[k] = wireguard.Peer{PublicKey: k, Endpoint: ep, PersistentKeepalive: 25 * time.Second}
	}
	out := make([]wireguard.Peer, 0, len(byKey))
	for _, p := range byKey {
		out = append(out, p)
	}
	slices.SortFunc(out, func(a, b wireguard.Peer) int { return slices.Compare(a.PublicKey[:], b.PublicKey[:]) })
	return out, nil
}

func remoteKey(r Remote) (wgtypes.Key, error) {
	if r.PublicKey == "" {
		return wgtypes.Key{}, fmt.Errorf("remote edge %s has no WireGuard public key: it runs plain VXLAN (--insecure-plain-vxlan-wan); run every edge with WireGuard, or every edge with that flag", r.Endpoint)
	}
	k, err := wgtypes.ParseKey(r.PublicKey)
	if err != nil {
		return k, fmt.Errorf("remote edge %s has public key %q: %v", r.Endpoint, r.PublicKey, err)
	}
	return k, nil
}

// inner returns p with each remote's WAN endpoint replaced by its tunnel
// address.
func inner(p Port) (Port, error) {
	out := Port{ID: p.ID, MTU: p.MTU}
	for _, r := range p.Remotes {
		k, err := remoteKey(r)
		if err != nil {
			return out, err
		}
		out.Remotes = append(out.Remotes, Remote{Endpoint: wireguard.TunnelAddress(k), MACs: r.MACs, PublicKey: r.PublicKey})
	}
	return out, nil
}

// Ensure makes the VXLAN port of p over the WireGuard interface; Connect
// must have succeeded first.
func (w *WireGuard) Ensure(p Port) (string, error) {
	if w.vx == nil {
		return "", fmt.Errorf("link %d: the WireGuard device is not up (Connect failed or was not called)", p.ID)
	}
	in, err := inner(p)
	if err != nil {
		return "", fmt.Errorf("link %d: %w", p.ID, err)
	}
	return w.vx.Ensure(in)
}

// Remove deletes the VXLAN port of link id.
func (w *WireGuard) Remove(id uint32) error { return w.plain().Remove(id) }

// IDs returns the links that have a VXLAN port, over WireGuard or not.
func (w *WireGuard) IDs() ([]uint32, error) { return w.plain().IDs() }

// plain is a VXLAN for the name-based calls, before Connect too.
func (w *WireGuard) plain() *VXLAN {
	if w.vx != nil {
		return w.vx
	}
	return &VXLAN{h: w.h, dev: netdev.New(w.h, w.log), wan: w.wan, log: w.log}
}

// String names the tunnel for logs.
func (w *WireGuard) String() string {
	return "WireGuard " + w.o.Name + " on " + w.wan.Device + ":" + strconv.Itoa(int(w.wan.Port))
}
