package dataplane

import (
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"runtime"
	"slices"
	"strings"
	"sync"

	"github.com/vishvananda/netlink"

	"switchboard/internal/netdev"
)

// Dataplane programs one node's network namespace. It is safe for concurrent
// use: calls are serialised, so AddPod may be called while Set runs (a
// PodLink's Finish, which touches only the pod's namespace, is not held up).
type Dataplane struct {
	log *slog.Logger
	ns  string // node namespace path; "" for the caller's

	mu  sync.Mutex
	h   *netlink.Handle // bound to the node namespace
	dev *netdev.Devices // on h
	cfg *Config         // the last Config that Set accepted; nil before

	hdel *netlink.Handle // background deletions of pod pairs (poddel.go), bound to the node namespace

	// podMu guards the pod interfaces being made and deleted outside d.mu,
	// so that ADD and DEL never wait for a Set (seconds, on a node whose
	// RTNL is busy). Lock order: d.mu, then podMu; never d.mu while
	// holding podMu.
	podMu    sync.Mutex
	deleting map[string]chan struct{}   // host ends being deleted → closed when done
	adding   map[string]chan struct{}   // host ends PreparePod is making → closed when done
	addingTo map[uint32]map[string]bool // the same, by network: Set keeps these networks
	joined   map[uint32][]string        // pods PreparePod made since the last listing of networks (listNetworksKeeping)
	pending  sync.WaitGroup             // the deletions and the pod pairs being made
	// podWork bounds the pod interfaces worked on in the kernel at once
	// (made, addressed, detached, deleted): RTNL is one lock for the whole
	// machine, and hundreds of ADDs and DELs at once only spin on it (on
	// the lab, 500 pods a cluster at once: a minute per ADD, and DELs
	// timing out, without a bound).
	podWork chan struct{}
	closed  bool // Close was called (written under d.mu and podMu); h and hdel are closed once pending is done
}

// Option configures a Dataplane.
type Option func(*Dataplane)

// WithLogger sets the logger; the default discards.
func WithLogger(l *slog.Logger) Option { return func(d *Dataplane) { d.log = l } }

// WithNetNS makes the Dataplane program the network namespace at path (e.g.
// /run/netns/node1) instead of the caller's own.
func WithNetNS(path string) Option { return func(d *Dataplane) { d.ns = path } }

// New returns a Dataplane for the node's namespace. It reads nothing and
// changes nothing until called; Close releases its netlink socket.
func New(opts ...Option) (*Dataplane, error) {
	d := &Dataplane{log: slog.New(slog.DiscardHandler)}
	for _, o := range opts {
		o(d)
	}
	h, err := netdev.OpenHandle(d.ns)
	if err != nil {
		return nil, err
	}
	hdel, err := netdev.OpenHandle(d.ns)
	if err != nil {
		h.Close()
		return nil, err
	}
	d.h, d.dev, d.hdel = h, netdev.New(h, d.log), hdel
	d.deleting, d.adding, d.addingTo, d.joined = map[string]chan struct{}{}, map[string]chan struct{}{}, map[uint32]map[string]bool{}, map[uint32][]string{}
	d.podWork = make(chan struct{}, max(2, runtime.GOMAXPROCS(0)))
	return d, nil
}

// Close releases the Dataplane's netlink sockets, once the background
// deletions of pod interfaces (DetachPod) and the pod interfaces being
// made (PreparePod) have ended. It changes nothing else in the kernel:
// devices and entries stay for the next Dataplane. d.h and d.hdel are never
// reassigned, so that the pod work outside d.mu may read them: d.closed
// stops every new use.
func (d *Dataplane) Close() error {
	d.mu.Lock()
	d.podMu.Lock()
	was := d.closed
	d.closed = true
	d.podMu.Unlock()
	d.mu.Unlock()
	if was {
		return nil
	}
	d.pending.Wait()
	d.h.Close()
	d.hdel.Close()
	return nil
}

// NetworksInUseError reports networks that are no longer in the Config but
// whose bridge still has pod ports, so Set kept their devices and entries.
type NetworksInUseError struct {
	Ports map[uint32][]string // by VNI: the host-side pod ports left
}

func (e *NetworksInUseError) Error() string {
	var b strings.Builder
	b.WriteString("keep networks still in use:")
	for _, vni := range slices.Sorted(maps.Keys(e.Ports)) {
		fmt.Fprintf(&b, " %d (ports %s)", vni, strings.Join(e.Ports[vni], ","))
	}
	return b.String()
}

// Set converges the node's Switchboard devices and entries to cfg. It may be
// called many times with identical configs: it never recreates a device that
// matches, it updates in place, removes stale FDB and neighbour entries, and
// removes the devices of networks not in cfg once they have no pod ports,
// and the edge cables of networks without EdgeCable at once. It touches
// only devices named with its own prefixes.
//
// A network whose settings are invalid is left as it is and reported; the
// others still converge. When the only thing to report is networks kept for
// their pods, the error is a *NetworksInUseError. Set keeps no reference to
// cfg.
func (d *Dataplane) Set(cfg Config) error {
	if err := cfg.validate(); err != nil {
		return fmt.Errorf("set data plane: %w", err)
	}
	cfg = cfg.clone()
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return errClosed
	}
	ul, err := d.h.LinkByName(cfg.Underlay)
	if err != nil {
		return fmt.Errorf("find underlay %q: %w", cfg.Underlay, err)
	}
	d.cfg = &cfg

	var errs []error
	keep, cables := map[uint32]bool{}, map[uint32]bool{}
	for _, vni := range slices.Sorted(maps.Keys(cfg.Networks)) {
		keep[vni] = true
		cables[vni] = cfg.Networks[vni].EdgeCable
		p, err := planNetwork(vni, cfg.Networks[vni], ul.Attrs().MTU, cfg.LocalIP)
		if err == nil {
			err = d.ensureNetwork(p, ul, cfg.LocalIP)
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("set network %d: %w", vni, err))
		}
	}
	if err := d.removeCables(cables); err != nil {
		errs = append(errs, err)
	}
	inUse, err := d.removeNetworks(keep)
	if err != nil {
		errs = append(errs, err)
	}
	if len(errs) == 0 && len(inUse) > 0 {
		return &NetworksInUseError{Ports: inUse}
	}
	if len(inUse) > 0 {
		errs = append(errs, &NetworksInUseError{Ports: inUse})
	}
	return errors.Join(errs...)
}

var errClosed = errors.New("data plane is closed")
