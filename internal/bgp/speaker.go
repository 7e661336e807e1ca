package bgp

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"reflect"
	"sync"

	api "github.com/osrg/gobgp/v4/api"
	"github.com/osrg/gobgp/v4/pkg/apiutil"
	"github.com/osrg/gobgp/v4/pkg/packet/bgp"
	"github.com/osrg/gobgp/v4/pkg/server"

	sbv1 "switchboard/api/v1alpha1"
)

// internalASN is the embedded server's global ASN. It never reaches the
// wire: every session carries its BGPPeer's myASN (GoBGP's per-peer
// local AS), so that a change of myASN needs no restart of the server.
const internalASN = 64512

// Options configure a Speaker.
type Options struct {
	// RouterID is the BGP identifier: an IPv4 address, unique among the
	// router's peers (the node's IPv4 underlay address).
	RouterID netip.Addr
	// Logger receives GoBGP's logs; nil discards them.
	Logger *slog.Logger
}

// Speaker is one node's embedded GoBGP server. Set converges it on a
// Config live: peers and paths come and go without restarting it. Its
// methods are safe for concurrent use; Set calls are serialised.
type Speaker struct {
	mu     sync.Mutex
	srv    *server.BgpServer
	peers  map[netip.Addr]Peer    // as last applied
	routes map[netip.Prefix]Route // as last applied
	// restarting is true until the first Set: the sessions it opens tell
	// the routers that this speaker restarted (graceful restart's R and F
	// bits), so they keep the previous speaker's routes until the
	// End-of-RIB instead of dropping them.
	restarting bool
}

// NewSpeaker starts a speaker with no peers and no routes. It never
// listens for connections (only the peers that Set gives are spoken to)
// and rejects every route it receives.
func NewSpeaker(ctx context.Context, opts Options) (*Speaker, error) {
	if !opts.RouterID.Is4() {
		return nil, fmt.Errorf("bgp router ID %s: must be an IPv4 address; pass the node's IPv4 underlay address", opts.RouterID)
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	lvl := &slog.LevelVar{}
	lvl.Set(slog.LevelInfo)
	srv := server.NewBgpServer(server.LoggerOption(log, lvl))
	go srv.Serve()
	err := srv.StartBgp(ctx, &api.StartBgpRequest{Global: &api.Global{
		Asn:        internalASN,
		RouterId:   opts.RouterID.String(),
		ListenPort: -1, // no listener: no passive accept
	}})
	if err == nil {
		err = rejectReceived(ctx, srv)
	}
	if err != nil {
		srv.Stop()
		return nil, fmt.Errorf("start bgp speaker: %w", err)
	}
	return &Speaker{srv: srv, peers: map[netip.Addr]Peer{}, routes: map[netip.Prefix]Route{}, restarting: true}, nil
}

// importPolicy is the global import policy: GoBGP applies it to every
// path entering the RIB, the speaker's own included, so it accepts local
// paths and rejects, by default, everything a router sends.
const importPolicy = "switchboard-local-only"

func rejectReceived(ctx context.Context, srv *server.BgpServer) error {
	local := &api.Policy{Name: importPolicy, Statements: []*api.Statement{{
		Name:       importPolicy + "-accept",
		Conditions: &api.Conditions{RouteType: api.Conditions_ROUTE_TYPE_LOCAL},
		Actions:    &api.Actions{RouteAction: api.RouteAction_ROUTE_ACTION_ACCEPT},
	}}}
	if err := srv.AddPolicy(ctx, &api.AddPolicyRequest{Policy: local, ReferExistingStatements: false}); err != nil {
		return err
	}
	return srv.SetPolicyAssignment(ctx, &api.SetPolicyAssignmentRequest{Assignment: &api.PolicyAssignment{
		Name:          "global",
		Direction:     api.PolicyDirection_POLICY_DIRECTION_IMPORT,
		Policies:      []*api.Policy{{Name: importPolicy}},
		DefaultAction: api.RouteAction_ROUTE_ACTION_REJECT,
	}})
}

// Set converges the speaker on cfg: routes first (so that a new session's
// first update carries them), then peers. A peer whose settings changed is
// replaced (its session resets); others are untouched. It is idempotent,
// and on error the next Set retries what is still different.
func (s *Speaker) Set(ctx context.Context, cfg Config) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	var errs []error
	want := map[netip.Prefix]Route{}
	for _, r := range cfg.Routes {
		want[r.Prefix] = r
	}
	for p, r := range s.routes {
		if _, ok := want[p]; ok {
			continue
		}
		if err := s.srv.DeletePath(apiutil.DeletePathRequest{Paths: []*apiutil.Path{withdrawal(r)}}); err != nil {
			errs = append(errs, fmt.Errorf("withdraw %s: %w", p, err))
			continue
		}
		delete(s.routes, p)
	}
	for p, r := range want {
		if old, ok := s.routes[p]; ok && reflect.DeepEqual(old, r) {
			continue
		}
		path, err := announcement(r)
		if err == nil {
			_, err = s.srv.AddPath(apiutil.AddPathRequest{Paths: []*apiutil.Path{path}})
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("announce %s: %w", p, err))
			continue
		}
		s.routes[p] = r
	}
	errs = append(errs, s.setPeers(ctx, cfg.Peers)...)
	s.restarting = false
	return errors.Join(errs...)
}

// setPeers converges the sessions on peers.
func (s *Speaker) setPeers(ctx context.Context, peers []Peer) []error {
	var errs []error
	want := map[netip.Addr]Peer{}
	for _, p := range peers {
		want[p.Address] = p
	}
	for a, old := range s.peers {
		if p, ok := want[a]; ok && reflect.DeepEqual(p, old) {
			continue
		}
		if err := s.srv.DeletePeer(ctx, &api.DeletePeerRequest{Address: a.String()}); err != nil {
			errs = append(errs, fmt.Errorf("remove bgp peer %s (bgppeer %q): %w", a, old.Name, err))
			continue
		}
		delete(s.peers, a)
	}
	for a, p := range want {
		if _, ok := s.peers[a]; ok {
			continue
		}
		if err := s.srv.AddPeer(ctx, &api.AddPeerRequest{Peer: apiPeer(p, s.restarting)}); err != nil {
			errs = append(errs, fmt.Errorf("add bgp peer %s (bgppeer %q): %w", a, p.Name, err))
			continue
		}
		s.peers[a] = p
	}
	return errs
}

// Stop ends every session with a NOTIFICATION (routers withdraw this
// node's routes at once) and stops the server: for tests and for an
// uninstall, never for a restart.
func (s *Speaker) Stop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.srv.Stop()
}

// RIB returns the prefixes of the speaker's global table (what it would
// announce, and what it accepted from routers: nothing).
func (s *Speaker) RIB() ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, f := range []bgp.Family{bgp.RF_IPv4_UC, bgp.RF_IPv6_UC} {
		err := s.srv.ListPath(apiutil.ListPathRequest{TableType: api.TableType_TABLE_TYPE_GLOBAL, Family: f}, func(n bgp.NLRI, _ []*apiutil.Path) {
			if p, err := netip.ParsePrefix(n.String()); err == nil {
				out = append(out, p)
			}
		})
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

// apiPeer is p in GoBGP's terms, with graceful restart on every family.
func apiPeer(p Peer, restarting bool) *api.Peer {
	var afis []*api.AfiSafi
	for _, f := range p.Families {
		afis = append(afis, &api.AfiSafi{
			Config:            &api.AfiSafiConfig{Family: apiFamily(f), Enabled: true},
			MpGracefulRestart: &api.MpGracefulRestart{Config: &api.MpGracefulRestartConfig{Enabled: true}},
		})
	}
	return &api.Peer{
		Conf: &api.PeerConf{
			NeighborAddress: p.Address.String(),
			PeerAsn:         p.ASN,
			LocalAsn:        p.MyASN,
			AuthPassword:    p.Password,
			Description:     "bgppeer " + p.Name,
		},
		Transport: &api.Transport{RemotePort: uint32(p.Port)},
		Timers: &api.Timers{Config: &api.TimersConfig{
			HoldTime:          uint64(p.HoldTime),
			KeepaliveInterval: uint64(max(p.HoldTime/3, 1)),
			ConnectRetry:      5,
		}},
		GracefulRestart: &api.GracefulRestart{
			Enabled:         true,
			RestartTime:     uint32(p.RestartTime),
			LocalRestarting: restarting,
			DeferralTime:    30,
		},
		AfiSafis:    afis,
		TtlSecurity: ttlSecurity(p.TTLHops),
	}
}

// ttlSecurity is GTSM for a router at most hops away: GoBGP then sends
// with TTL 255 and sets the socket's minimum TTL (IP_MINTTL).
func ttlSecurity(hops uint8) *api.TtlSecurity {
	if hops == 0 {
		return nil
	}
	return &api.TtlSecurity{Enabled: true, TtlMin: 256 - uint32(hops)}
}

func apiFamily(f sbv1.BGPFamily) *api.Family {
	if f == sbv1.BGPIPv6Unicast {
		return &api.Family{Afi: api.Family_AFI_IP6, Safi: api.Family_SAFI_UNICAST}
	}
	return &api.Family{Afi: api.Family_AFI_IP, Safi: api.Family_SAFI_UNICAST}
}

func family(p netip.Prefix) bgp.Family {
	if p.Addr().Is4() {
		return bgp.RF_IPv4_UC
	}
	return bgp.RF_IPv6_UC
}

// announcement is r as a GoBGP path: origin IGP, next hop, communities.
func announcement(r Route) (*apiutil.Path, error) {
	nlri, err := bgp.NewIPAddrPrefix(r.Prefix)
	if err != nil {
		return nil, err
	}
	attrs := []bgp.PathAttributeInterface{bgp.NewPathAttributeOrigin(bgp.BGP_ORIGIN_ATTR_TYPE_IGP)}
	if r.Prefix.Addr().Is4() {
		nh, err := bgp.NewPathAttributeNextHop(r.NextHop)
		if err != nil {
			return nil, err
		}
		attrs = append(attrs, nh)
	} else {
		mp, err := bgp.NewPathAttributeMpReachNLRI(bgp.RF_IPv6_UC, []bgp.PathNLRI{{NLRI: nlri}}, r.NextHop)
		if err != nil {
			return nil, err
		}
		attrs = append(attrs, mp)
	}
	if len(r.Communities) > 0 {
		attrs = append(attrs, bgp.NewPathAttributeCommunities(r.Communities))
	}
	return &apiutil.Path{Family: family(r.Prefix), Nlri: nlri, Attrs: attrs}, nil
}

// withdrawal is the path that withdraws r.
func withdrawal(r Route) *apiutil.Path {
	nlri, _ := bgp.NewIPAddrPrefix(r.Prefix)
	return &apiutil.Path{Family: family(r.Prefix), Nlri: nlri, Withdrawal: true}
}
