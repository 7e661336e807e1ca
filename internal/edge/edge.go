package edge

import (
	"cmp"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"slices"
	"sync"

	"github.com/vishvananda/netlink"

	"switchboard/internal/edge/tunnel"
	"switchboard/internal/netdev"
)

// Edge programs the links of one edge device into a network namespace. It
// is safe for concurrent use: calls are serialised.
type Edge struct {
	log       *slog.Logger
	ns        string // namespace path; "" for the caller's
	newTunnel func(h *netlink.Handle, wan tunnel.WAN, log *slog.Logger) (tunnel.Tunnel, error)

	mu     sync.Mutex
	h      *netlink.Handle
	dev    *netdev.Devices   // on h
	want   []linkWant        // the links of the last Set, by ID
	tunDev map[uint32]string // tunnel port of each link, as Ensure last named it
}

// Option configures an Edge.
type Option func(*Edge)

// WithLogger sets the logger; the default discards.
func WithLogger(l *slog.Logger) Option { return func(e *Edge) { e.log = l } }

// WithTunnel makes the Edge carry its links with the tunnel newTunnel
// returns (called on every Set, with the Edge's netlink handle and the
// Config's WAN side); the default is plain VXLAN on the WAN.
func WithTunnel(newTunnel func(h *netlink.Handle, wan tunnel.WAN, log *slog.Logger) (tunnel.Tunnel, error)) Option {
	return func(e *Edge) { e.newTunnel = newTunnel }
}

// WithNetNS makes the Edge program the network namespace at path (e.g.
// /run/netns/gw) instead of the caller's own.
func WithNetNS(path string) Option { return func(e *Edge) { e.ns = path } }

// New returns an Edge. It reads nothing and changes nothing until called;
// Close releases its netlink socket.
func New(opts ...Option) (*Edge, error) {
	e := &Edge{log: slog.New(slog.DiscardHandler), tunDev: map[uint32]string{}}
	e.newTunnel = func(h *netlink.Handle, wan tunnel.WAN, log *slog.Logger) (tunnel.Tunnel, error) {
		return tunnel.NewVXLAN(h, wan, log)
	}
	for _, o := range opts {
		o(e)
	}
	h, err := netdev.OpenHandle(e.ns)
	if err != nil {
		return nil, err
	}
	e.h, e.dev = h, netdev.New(h, e.log)
	return e, nil
}

// Close releases the Edge's netlink socket. It changes nothing in the
// kernel: links keep carrying traffic for the next Edge.
func (e *Edge) Close() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.h != nil {
		e.h.Close()
		e.h, e.dev = nil, nil
	}
	return nil
}

var errClosed = errors.New("edge is closed")

// Set converges the edge's links to cfg. It may be called many times with
// identical configs: it never recreates a device that matches, fixes what
// drifted in place, and removes the bridges and tunnel ports of links not
// in cfg. A link that cannot converge (missing cable, invalid settings, a
// kernel error) is reported as a *LinkError, joined with the others', while
// the remaining links converge; an error of the whole Config (no WAN
// device, invalid WAN address) stops Set before it changes anything. Set
// keeps no reference to cfg.
func (e *Edge) Set(cfg Config) error {
	if err := cfg.validate(); err != nil {
		return fmt.Errorf("set edge: %w", err)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.h == nil {
		return errClosed
	}
	wan, err := e.h.LinkByName(cfg.WANDevice)
	if err != nil {
		return fmt.Errorf("find WAN device %q: %w", cfg.WANDevice, err)
	}
	if err := e.checkWANAddr(wan, cfg.WANLocal); err != nil {
		return err
	}
	tun, err := e.newTunnel(e.h, tunnel.WAN{Device: cfg.WANDevice, Local: cfg.WANLocal, Port: cfg.WANPort}, e.log)
	if err != nil {
		return fmt.Errorf("set edge: %w", err)
	}

	type planned struct {
		l   Link
		p   linkPlan
		err error
	}
	var links []planned
	var remotes []tunnel.Remote
	for _, l := range sortedLinks(cfg.Links) {
		p, err := plan(l, cfg.WANDevice, wan.Attrs().MTU, tun.Overhead(), cfg.WANLocal)
		links = append(links, planned{l, p, err})
		if err == nil {
			remotes = append(remotes, p.port.Remotes...)
		}
	}
	// The tunnel reaches every remote edge before any port uses it; if it
	// cannot, no link converges, and the ports already there are left alone.
	var errs []error
	connErr := tun.Connect(remotes)
	if connErr != nil && len(links) == 0 {
		errs = append(errs, fmt.Errorf("connect the tunnel: %w", connErr))
	}
	keep := map[uint32]bool{}
	e.want = nil
	for _, x := range links {
		keep[x.l.ID] = true
		err := x.err
		switch {
		case err == nil && connErr != nil:
			err = fmt.Errorf("tunnel not connected: %w", connErr)
		case err == nil:
			err = e.ensureLink(tun, x.p)
		}
		if err != nil {
			e.log.Info("link not converged", "vni", x.l.ID, "err", err)
			errs = append(errs, &LinkError{ID: x.l.ID, Err: err})
		}
		e.want = append(e.want, linkWant{id: x.l.ID, cable: x.l.Cable, mtu: x.p.mtu, peers: len(x.p.port.Remotes), err: err})
	}
	if err := e.removeStale(tun, keep); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// checkWANAddr fails unless local is an address of wan.
func (e *Edge) checkWANAddr(wan netlink.Link, local netip.Addr) error {
	addrs, err := e.h.AddrList(wan, netlink.FAMILY_ALL)
	if err != nil {
		return fmt.Errorf("list addresses of %q: %w", wan.Attrs().Name, err)
	}
	for _, a := range addrs {
		if ip, ok := netip.AddrFromSlice(a.IP); ok && ip.Unmap() == local.Unmap() {
			return nil
		}
	}
	return fmt.Errorf("WAN address %s is not on %q: add it there or fix the edge's WAN settings", local, wan.Attrs().Name)
}

func sortedLinks(ls []Link) []Link {
	out := slices.Clone(ls)
	slices.SortFunc(out, func(a, b Link) int { return cmp.Compare(a.ID, b.ID) })
	return out
}
