package bgp

import (
	"cmp"
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	sbv1 "switchboard/api/v1alpha1"
)

// Defaults of a BGPPeer's optional fields.
const (
	DefaultPort        = 179
	DefaultHoldTime    = 90
	DefaultRestartTime = 120
	// DefaultPasswordKey is the Secret key of a password when the
	// BGPPeer's passwordSecret names none.
	DefaultPasswordKey = "password"
)

// Node is the announcing node as the speaker sees it.
type Node struct {
	Name     string
	IP       netip.Addr // the underlay address: every route's next hop
	Labels   map[string]string
	PodCIDRs []string // the Node's spec.podCIDRs
}

// Peer is one session the node opens.
type Peer struct {
	Name        string // the BGPPeer's
	Address     netip.Addr
	Port        uint16
	ASN         uint32 // the router's
	MyASN       uint32 // the node's
	Password    string // TCP MD5; empty: none
	Families    []sbv1.BGPFamily
	HoldTime    uint16 // seconds
	RestartTime uint16 // seconds, advertised for graceful restart
	TTLHops     uint8  // GTSM: accept only segments from at most this many hops; 0 off
}

// Route is one prefix the node announces.
type Route struct {
	Prefix      netip.Prefix
	NextHop     netip.Addr
	Communities []uint32 // sorted, ASN<<16 | value
}

// Config is one node's speaker: its sessions and its routes, each sorted
// (peers by address, routes by prefix), so that equal worlds give equal
// Configs.
type Config struct {
	Peers  []Peer
	Routes []Route
}

// World is what Desired reads: the API objects, and a way to read a
// BGPPeer's password (from its Secret).
type World struct {
	Node           Node
	Peers          []sbv1.BGPPeer
	Advertisements []sbv1.BGPAdvertisement
	Networks       []sbv1.Network
	Attachments    []sbv1.Attachment
	// Password returns the password a BGPPeer's passwordSecret names.
	Password func(ref sbv1.BGPSecretKey) (string, error)
}

// Desired returns node's speaker config. Objects that cannot be used (an
// invalid selector, a missing password Secret, two peers with one address)
// are left out and reported, each error naming the object, the field and
// the fix; the rest of the config stands.
func Desired(w World) (Config, []error) {
	var cfg Config
	var errs []error
	peers := slices.Clone(w.Peers)
	slices.SortFunc(peers, func(a, b sbv1.BGPPeer) int { return cmp.Compare(a.Name, b.Name) })
	byAddr := map[netip.Addr]string{}
	for i := range peers {
		p, ok, err := peerFor(w, &peers[i])
		if err != nil {
			errs = append(errs, err)
		}
		if !ok {
			continue
		}
		if other, dup := byAddr[p.Address]; dup {
			errs = append(errs, fmt.Errorf("bgppeer %q spec.address %s: bgppeer %q already opens a session to it from node %q; delete one, or give them disjoint spec.nodeSelector", p.Name, p.Address, other, w.Node.Name))
			continue
		}
		byAddr[p.Address] = p.Name
		cfg.Peers = append(cfg.Peers, p)
	}
	slices.SortFunc(cfg.Peers, func(a, b Peer) int { return a.Address.Compare(b.Address) })

	routes := map[netip.Prefix]map[uint32]bool{} // prefix → communities
	var order []netip.Prefix
	add := func(p netip.Prefix, comms []uint32) {
		if routes[p] == nil {
			routes[p] = map[uint32]bool{}
			order = append(order, p)
		}
		for _, c := range comms {
			routes[p][c] = true
		}
	}
	for i := range w.Advertisements {
		ad := &w.Advertisements[i]
		prefixes, comms, err := advertised(w, ad)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		for _, p := range prefixes {
			if p.Addr().Is4() != w.Node.IP.Is4() {
				errs = append(errs, fmt.Errorf("bgpadvertisement %q: %s cannot be announced from node %q: its underlay address %s, the next hop, is of the other IP family; announce it from nodes with an address of its family (spec.nodeSelector)", ad.Name, p, w.Node.Name, w.Node.IP))
				continue
			}
			add(p, comms)
		}
	}
	for _, p := range order {
		r := Route{Prefix: p, NextHop: w.Node.IP}
		for c := range routes[p] {
			r.Communities = append(r.Communities, c)
		}
		slices.Sort(r.Communities)
		cfg.Routes = append(cfg.Routes, r)
	}
	slices.SortFunc(cfg.Routes, func(a, b Route) int { return comparePrefix(a.Prefix, b.Prefix) })
	return cfg, errs
}

// peerFor returns the session p gives the node, if p selects it.
func peerFor(w World, p *sbv1.BGPPeer) (Peer, bool, error) {
	sel, err := selects(p.Spec.NodeSelector, w.Node.Labels)
	if err != nil {
		return Peer{}, false, fmt.Errorf("bgppeer %q spec.nodeSelector: %w; fix the selector", p.Name, err)
	}
	if !sel {
		return Peer{}, false, nil
	}
	s := p.Spec
	addr, err := netip.ParseAddr(s.Address)
	if err != nil {
		return Peer{}, false, fmt.Errorf("bgppeer %q spec.address %q: not an IP address; write one such as 198.18.0.1", p.Name, s.Address)
	}
	if addr.Is4() != w.Node.IP.Is4() {
		return Peer{}, false, fmt.Errorf("bgppeer %q spec.address %s: node %q has an underlay address of the other IP family (%s); give the peer an address of that family, or leave the node out with spec.nodeSelector", p.Name, addr, w.Node.Name, w.Node.IP)
	}
	out := Peer{
		Name: p.Name, Address: addr.Unmap(),
		Port: uint16(cmp.Or(s.Port, DefaultPort)), ASN: uint32(s.ASN), MyASN: uint32(s.MyASN),
		Families:    slices.Clone(s.Families),
		HoldTime:    uint16(cmp.Or(s.HoldTimeSeconds, DefaultHoldTime)),
		RestartTime: uint16(cmp.Or(s.RestartTimeSeconds, DefaultRestartTime)),
		TTLHops:     uint8(s.TTLSecurityHops),
	}
	if len(out.Families) == 0 {
		out.Families = []sbv1.BGPFamily{sbv1.BGPIPv4Unicast}
	}
	slices.Sort(out.Families)
	out.Families = slices.Compact(out.Families)
	if ref := s.PasswordSecret; ref != nil {
		k := *ref
		k.Key = cmp.Or(k.Key, DefaultPasswordKey)
		pw, err := w.Password(k)
		if err != nil {
			return Peer{}, false, fmt.Errorf("bgppeer %q spec.passwordSecret: %w; the session stays closed until the Secret %q has the key %q in Switchboard's namespace", p.Name, err, k.Name, k.Key)
		}
		if pw == "" || len(pw) > 80 {
			return Peer{}, false, fmt.Errorf("bgppeer %q spec.passwordSecret: key %q of Secret %q holds %d bytes; a TCP MD5 password is 1 to 80 bytes", p.Name, k.Key, k.Name, len(pw))
		}
		out.Password = pw
	}
	return out, true, nil
}

// advertised returns the prefixes and communities ad gives the node.
func advertised(w World, ad *sbv1.BGPAdvertisement) ([]netip.Prefix, []uint32, error) {
	sel, err := selects(ad.Spec.NodeSelector, w.Node.Labels)
	if err != nil {
		return nil, nil, fmt.Errorf("bgpadvertisement %q spec.nodeSelector: %w; fix the selector", ad.Name, err)
	}
	if !sel {
		return nil, nil, nil
	}
	comms, err := communities(ad)
	if err != nil {
		return nil, nil, err
	}
	var out []netip.Prefix
	if ad.Spec.PodCIDRs {
		for _, c := range w.Node.PodCIDRs {
			p, err := netip.ParsePrefix(c)
			if err != nil {
				return nil, nil, fmt.Errorf("node %q spec.podCIDRs %q: not a CIDR (set by the controller manager's --allocate-node-cidrs): %w", w.Node.Name, c, err)
			}
			out = append(out, p.Masked())
		}
	}
	if ns := ad.Spec.Networks; ns != nil {
		nets, err := networksHere(w, ad.Name, ns)
		if err != nil {
			return nil, nil, err
		}
		out = append(out, nets...)
	}
	return out, comms, nil
}

// networksHere returns the CIDRs of the Networks ns selects that have a
// member pod on the node.
func networksHere(w World, ad string, ns *sbv1.BGPNetworkSelector) ([]netip.Prefix, error) {
	sel := labels.Everything()
	if ns.Selector != nil {
		s, err := metav1.LabelSelectorAsSelector(ns.Selector)
		if err != nil {
			return nil, fmt.Errorf("bgpadvertisement %q spec.networks.selector: %w; fix the selector", ad, err)
		}
		sel = s
	}
	members := map[[2]string]bool{} // namespace, network
	for i := range w.Attachments {
		a := &w.Attachments[i]
		if a.Spec.Node == w.Node.Name && !a.Spec.IsEdge() && a.DeletionTimestamp.IsZero() {
			members[[2]string{a.Namespace, a.Spec.Network}] = true
		}
	}
	var out []netip.Prefix
	for i := range w.Networks {
		n := &w.Networks[i]
		if n.Spec.IPAM == nil || !members[[2]string{n.Namespace, n.Name}] ||
			(len(ns.Namespaces) > 0 && !slices.Contains(ns.Namespaces, n.Namespace)) ||
			!sel.Matches(labels.Set(n.Labels)) {
			continue
		}
		p, err := netip.ParsePrefix(n.Spec.IPAM.CIDR)
		if err != nil {
			continue // the Network's own validation reports it
		}
		out = append(out, p.Masked())
	}
	return out, nil
}

// communities parses ad's communities ("ASN:value").
func communities(ad *sbv1.BGPAdvertisement) ([]uint32, error) {
	var out []uint32
	for i, c := range ad.Spec.Communities {
		hi, lo, ok := strings.Cut(c, ":")
		a, errA := strconv.ParseUint(hi, 10, 16)
		b, errB := strconv.ParseUint(lo, 10, 16)
		if !ok || errA != nil || errB != nil {
			return nil, fmt.Errorf("bgpadvertisement %q spec.communities[%d] %q: want ASN:value with both parts 0-65535, e.g. 64512:100", ad.Name, i, c)
		}
		out = append(out, uint32(a)<<16|uint32(b))
	}
	return out, nil
}

// selects reports whether s selects a node with these labels; nil or
// empty selects every node.
func selects(s *metav1.LabelSelector, l map[string]string) (bool, error) {
	if s == nil {
		return true, nil
	}
	sel, err := metav1.LabelSelectorAsSelector(s)
	if err != nil {
		return false, err
	}
	return sel.Matches(labels.Set(l)), nil
}

func comparePrefix(a, b netip.Prefix) int {
	if c := a.Addr().Compare(b.Addr()); c != 0 {
		return c
	}
	return cmp.Compare(a.Bits(), b.Bits())
}
