package wireguard

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strconv"
	"time"

	"golang.zx2c4.com/wireguard/wgctrl/wgtypes"
)

// Implementation selects how the device is made.
type Implementation string

const (
	// Auto uses the kernel module where the kernel has it and embedded
	// wireguard-go otherwise.
	Auto Implementation = ""
	// Kernel uses the kernel module and fails where there is none.
	Kernel Implementation = "kernel"
	// Userspace uses embedded wireguard-go even where the kernel has the
	// module.
	Userspace Implementation = "userspace"
	// External configures a device that another process made and keeps:
	// a kernel device, or a wireguard-go device that serves its UAPI
	// socket (/var/run/wireguard/NAME.sock), such as the one "Serve"
	// runs in the switchboard-tunnel DaemonSet. The engine never makes
	// nor removes it, so the tunnel outlives the process that configures
	// it; Set fails while the device is missing.
	External Implementation = "external"
)

// Config is the desired WireGuard device. The caller owns it; Set does not
// keep it.
type Config struct {
	// Name is the interface's name (at most 15 bytes), e.g. "sbwg0".
	Name string
	// Netns is the path of the network namespace the interface lives in
	// (e.g. /run/netns/x or /proc/PID/ns/net); "" is the namespace of the
	// process. The UDP socket of the embedded implementation lives there
	// too. Changing it moves nothing: the old device is removed and a new
	// one made.
	Netns string
	// PrivateKeyFile holds the private key (see LoadOrCreateKey); it is
	// made on first use and read again on every Set.
	PrivateKeyFile string
	// ListenPort is the UDP port on the WAN; 0 lets the device pick one
	// and then leaves it as it is.
	ListenPort int
	// MTU of the interface: at least 1280 (the tunnel carries IPv6), and
	// at most the WAN's MTU minus Overhead.
	MTU int
	// Peers is the full list of peers: a peer of the device that is not
	// in it is removed.
	Peers []Peer
	// Implementation is Auto unless a test or an operator wants one.
	Implementation Implementation
}

// Peer is one remote WireGuard device.
type Peer struct {
	// PublicKey identifies the peer (wgtypes.ParseKey reads base64).
	PublicKey wgtypes.Key
	// Endpoint is the peer's WAN address as host:port. "" leaves the
	// endpoint to the peer: it is learned when the peer sends first.
	Endpoint string
	// AllowedIPs are prefixes routed to the peer besides its tunnel
	// address, which is always allowed (see TunnelAddress).
	AllowedIPs []netip.Prefix
	// PersistentKeepalive, when not 0, sends a keepalive this often (whole
	// seconds, at most 65535 s), to keep NAT and firewall state open.
	PersistentKeepalive time.Duration
}

// MinMTU is the smallest MTU of the interface: IPv6, the tunnel's inner
// protocol, needs 1280.
const MinMTU = 1280

// check validates c and names the field and the fix.
func (c Config) check() error {
	var errs []error
	if c.Name == "" || len(c.Name) > 15 {
		errs = append(errs, fmt.Errorf("name %q: must be 1 to 15 bytes, an interface name such as sbwg0", c.Name))
	}
	if c.PrivateKeyFile == "" {
		errs = append(errs, errors.New("privateKeyFile: empty: give the path of the key file (made on first use)"))
	}
	if c.ListenPort < 0 || c.ListenPort > 65535 {
		errs = append(errs, fmt.Errorf("listenPort %d: must be 0 (any) to 65535", c.ListenPort))
	}
	if c.MTU < MinMTU || c.MTU > 65535 {
		errs = append(errs, fmt.Errorf("mtu %d: must be %d to 65535 (WAN MTU minus %d for IPv4, %d for IPv6)", c.MTU, MinMTU, OverheadIPv4, OverheadIPv6))
	}
	switch c.Implementation {
	case Auto, Kernel, Userspace, External:
	default:
		errs = append(errs, fmt.Errorf("implementation %q: must be empty (auto), %q, %q or %q", c.Implementation, Kernel, Userspace, External))
	}
	seen := map[wgtypes.Key]bool{}
	for i, p := range c.Peers {
		if p.PublicKey == (wgtypes.Key{}) {
			errs = append(errs, fmt.Errorf("peers[%d].publicKey: empty", i))
		}
		if seen[p.PublicKey] {
			errs = append(errs, fmt.Errorf("peers[%d].publicKey %s: listed twice", i, p.PublicKey))
		}
		seen[p.PublicKey] = true
		if p.PersistentKeepalive < 0 || p.PersistentKeepalive > 65535*time.Second || p.PersistentKeepalive%time.Second != 0 {
			errs = append(errs, fmt.Errorf("peers[%d].persistentKeepalive %s: must be whole seconds from 0 to 65535", i, p.PersistentKeepalive))
		}
		for _, a := range p.AllowedIPs {
			if !a.IsValid() {
				errs = append(errs, fmt.Errorf("peers[%d].allowedIPs: an invalid prefix", i))
			}
		}
	}
	return errors.Join(errs...)
}

// peerState is a peer as the device holds it: endpoint resolved, allowed
// IPs complete (tunnel address included), masked and sorted.
type peerState struct {
	Endpoint   netip.AddrPort // invalid: none
	AllowedIPs []netip.Prefix
	Keepalive  time.Duration
}

// deviceState is the part of a device that Set converges.
type deviceState struct {
	PrivateKey wgtypes.Key
	ListenPort int // 0: any
	Peers      map[wgtypes.Key]peerState
}

// resolve turns c's peers into their desired state, looking up endpoint
// host names with r.
func resolve(ctx context.Context, r *net.Resolver, peers []Peer, self wgtypes.Key) (map[wgtypes.Key]peerState, error) {
	out := make(map[wgtypes.Key]peerState, len(peers))
	for i, p := range peers {
		if p.PublicKey == self.PublicKey() {
			return nil, fmt.Errorf("peers[%d].publicKey %s: is this device's own key", i, p.PublicKey)
		}
		s := peerState{Keepalive: p.PersistentKeepalive, AllowedIPs: normalPrefixes(append([]netip.Prefix{tunnelHost(p.PublicKey)}, p.AllowedIPs...))}
		if p.Endpoint != "" {
			ep, err := resolveEndpoint(ctx, r, p.Endpoint)
			if err != nil {
				return nil, fmt.Errorf("peers[%d].endpoint: %w", i, err)
			}
			s.Endpoint = ep
		}
		out[p.PublicKey] = s
	}
	return out, nil
}

func resolveEndpoint(ctx context.Context, r *net.Resolver, hostport string) (netip.AddrPort, error) {
	host, port, err := net.SplitHostPort(hostport)
	if err != nil {
		return netip.AddrPort{}, fmt.Errorf("%q: must be host:port, e.g. 198.18.0.1:51820: %w", hostport, err)
	}
	pn, err := strconv.ParseUint(port, 10, 16)
	if err != nil || pn == 0 {
		return netip.AddrPort{}, fmt.Errorf("%q: port must be 1 to 65535", hostport)
	}
	if a, err := netip.ParseAddr(host); err == nil {
		return netip.AddrPortFrom(a.Unmap(), uint16(pn)), nil
	}
	addrs, err := r.LookupNetIP(ctx, "ip", host)
	if err != nil {
		return netip.AddrPort{}, fmt.Errorf("resolve %q: %w", host, err)
	}
	if len(addrs) == 0 {
		return netip.AddrPort{}, fmt.Errorf("resolve %q: no address", host)
	}
	return netip.AddrPortFrom(addrs[0].Unmap(), uint16(pn)), nil
}

// normalPrefixes masks, sorts and deduplicates ps; the result is a new
// slice.
func normalPrefixes(ps []netip.Prefix) []netip.Prefix {
	out := make([]netip.Prefix, 0, len(ps))
	for _, p := range ps {
		out = append(out, p.Masked())
	}
	slices.SortFunc(out, func(a, b netip.Prefix) int {
		if c := a.Addr().Compare(b.Addr()); c != 0 {
			return c
		}
		return a.Bits() - b.Bits()
	})
	return slices.Compact(out)
}
