package wireguard

import (
	"bytes"
	"net"
	"net/netip"
	"slices"
	"time"

	"golang.zx2c4.com/wireguard/wgctrl/wgtypes"
)

// plan returns the change that turns the device cur into want, and whether
// anything differs. Peers that do not differ are left out, so the device
// does not touch them; changed peers are updated in place (UpdateOnly), so
// their sessions carry on. It is a pure function; peers come out sorted by
// public key.
func plan(cur, want deviceState) (wgtypes.Config, bool) {
	var c wgtypes.Config
	changed := false
	if cur.PrivateKey != want.PrivateKey {
		k := want.PrivateKey
		c.PrivateKey, changed = &k, true
	}
	if want.ListenPort != 0 && want.ListenPort != cur.ListenPort {
		p := want.ListenPort
		c.ListenPort, changed = &p, true
	}
	keys := make([]wgtypes.Key, 0, len(cur.Peers)+len(want.Peers))
	for k := range cur.Peers {
		keys = append(keys, k)
	}
	for k := range want.Peers {
		if _, ok := cur.Peers[k]; !ok {
			keys = append(keys, k)
		}
	}
	slices.SortFunc(keys, func(a, b wgtypes.Key) int { return bytes.Compare(a[:], b[:]) })
	for _, k := range keys {
		w, wanted := want.Peers[k]
		h, has := cur.Peers[k]
		switch {
		case !wanted:
			c.Peers = append(c.Peers, wgtypes.PeerConfig{PublicKey: k, Remove: true})
		case !has:
			c.Peers = append(c.Peers, newPeer(k, w))
		default:
			if pc, ok := changePeer(k, h, w); ok {
				c.Peers = append(c.Peers, pc)
			}
		}
	}
	return c, changed || len(c.Peers) > 0
}

func newPeer(k wgtypes.Key, w peerState) wgtypes.PeerConfig {
	pc := wgtypes.PeerConfig{PublicKey: k, ReplaceAllowedIPs: true, AllowedIPs: ipNets(w.AllowedIPs)}
	if w.Endpoint.IsValid() {
		pc.Endpoint = net.UDPAddrFromAddrPort(w.Endpoint)
	}
	if w.Keepalive != 0 {
		ka := w.Keepalive
		pc.PersistentKeepaliveInterval = &ka
	}
	return pc
}

func changePeer(k wgtypes.Key, h, w peerState) (wgtypes.PeerConfig, bool) {
	pc := wgtypes.PeerConfig{PublicKey: k, UpdateOnly: true}
	changed := false
	// An endpoint the configuration leaves open is whatever the peer
	// roamed to; a given one is restored if the peer roamed away.
	if w.Endpoint.IsValid() && w.Endpoint != h.Endpoint {
		pc.Endpoint, changed = net.UDPAddrFromAddrPort(w.Endpoint), true
	}
	if w.Keepalive != h.Keepalive {
		ka := w.Keepalive
		pc.PersistentKeepaliveInterval, changed = &ka, true
	}
	if !slices.Equal(w.AllowedIPs, h.AllowedIPs) {
		pc.ReplaceAllowedIPs, pc.AllowedIPs, changed = true, ipNets(w.AllowedIPs), true
	}
	return pc, changed
}

func ipNets(ps []netip.Prefix) []net.IPNet {
	out := make([]net.IPNet, 0, len(ps))
	for _, p := range ps {
		out = append(out, *ipNet(p))
	}
	return out
}

func ipNet(p netip.Prefix) *net.IPNet {
	return &net.IPNet{IP: p.Addr().AsSlice(), Mask: net.CIDRMask(p.Bits(), p.Addr().BitLen())}
}

// fromDevice is what wgctrl reports, as a deviceState.
func fromDevice(d *wgtypes.Device) deviceState {
	s := deviceState{PrivateKey: d.PrivateKey, ListenPort: d.ListenPort, Peers: make(map[wgtypes.Key]peerState, len(d.Peers))}
	for _, p := range d.Peers {
		ps := peerState{Keepalive: p.PersistentKeepaliveInterval.Round(time.Second)}
		if p.Endpoint != nil {
			ps.Endpoint = p.Endpoint.AddrPort()
			ps.Endpoint = netip.AddrPortFrom(ps.Endpoint.Addr().Unmap(), ps.Endpoint.Port())
		}
		var prefixes []netip.Prefix
		for _, n := range p.AllowedIPs {
			a, ok := netip.AddrFromSlice(n.IP)
			if !ok {
				continue
			}
			if len(n.Mask) == net.IPv4len {
				a = a.Unmap()
			}
			ones, _ := n.Mask.Size()
			prefixes = append(prefixes, netip.PrefixFrom(a, ones))
		}
		ps.AllowedIPs = normalPrefixes(prefixes)
		s.Peers[p.PublicKey] = ps
	}
	return s
}
