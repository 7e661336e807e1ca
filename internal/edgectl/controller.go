package edgectl

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"sigs.k8s.io/controller-runtime/pkg/client"

	sbv1 "switchboard/api/v1alpha1"
	"switchboard/internal/edge"
	"switchboard/internal/edge/tunnel"
	"switchboard/internal/idco"
)

// IDCO is what the controller asks of a provider; *client.Client of
// package idco/client has it.
type IDCO interface {
	SetEdgeEndpoint(ctx context.Context, cluster string, e idco.EdgeEndpointRequest) error
	EdgeConfig(ctx context.Context, cluster string, since int64, wait time.Duration) (idco.EdgeConfig, error)
}

// Dataplane is what the controller asks of the kernel side; *edge.Edge has it.
type Dataplane interface {
	Set(edge.Config) error
	Status() (edge.Status, error)
}

// Provider is one IDCO the edge serves, by the name its certificates are
// filed under.
type Provider struct {
	Name string
	IDCO IDCO
}

// Options configure a Controller. Cluster, Local (all but WANPort), NodeIP,
// Pod, at least one Provider, Client and Edge are required.
type Options struct {
	Cluster   string     // this cluster's name, as enrolled with the providers
	Local     Local      // this node and the edge's WAN side
	NodeIP    netip.Addr // this node's underlay address, for the Attachments
	Pod       sbv1.PodRef
	Providers []Provider
	Client    client.Client // the cluster's API, for edge Attachments
	Edge      Dataplane
	Log       *slog.Logger          // default: discard
	Metrics   prometheus.Registerer // default: none
	// Rotate makes the edge's WireGuard key anew and returns the new
	// public key (wireguard.Engine.Rotate); nil for plain VXLAN.
	Rotate func(ctx context.Context) (publicKey string, err error)
	// Changed, if not nil, asks for a convergence at once with the configs
	// at hand, as when the WireGuard device was made anew under the edge
	// (switchboard-tunnel restarted) and needs its key and peers again.
	Changed <-chan struct{}

	PollWait time.Duration // long-poll wait; default 50s
	Resync   time.Duration // re-converge an unchanged config; default 30s
	Retry    time.Duration // after a failed convergence; default 2s
	Backoff  [2]time.Duration
}

// Controller is the edge's control loop. Run it once.
type Controller struct {
	o        Options
	log      *slog.Logger
	m        *metrics
	endpoint string
	ready    atomic.Bool
	key      atomic.Pointer[string] // the public key the providers must have
	rotate   chan chan rotation     // RotateKey's requests, served by Run
}

type rotation struct {
	key string
	err error
}

// New checks the options and returns a Controller.
func New(o Options) (*Controller, error) {
	var missing []string
	for _, f := range []struct {
		bad  bool
		what string
	}{
		{o.Cluster == "", "the cluster's name (--cluster-name)"},
		{o.Local.Node == "", "the node's name (--node-name or NODE_NAME)"},
		{!o.Local.WAN.IsValid(), "the WAN address (--wan-ip, or --wan-device to read it there)"},
		{o.Local.WANDevice == "", "the WAN device"},
		{!o.NodeIP.IsValid(), "the node's underlay address (--node-ip or NODE_IP)"},
		{o.Pod.Name == "" || o.Pod.Namespace == "" || o.Pod.UID == "", "the edge's own pod (POD_NAMESPACE, POD_NAME, POD_UID from the downward API)"},
		{len(o.Providers) == 0, "a provider (--provider name=host:port)"},
		{o.Client == nil || o.Edge == nil, "a Kubernetes client and an edge data plane"},
	} {
		if f.bad {
			missing = append(missing, f.what)
		}
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("edge controller needs %s", strings.Join(missing, ", "))
	}
	seen := map[string]bool{}
	for _, p := range o.Providers {
		if p.Name == "" || seen[p.Name] || p.IDCO == nil {
			return nil, fmt.Errorf("provider %q is unnamed, listed twice or has no client: give each --provider a distinct name", p.Name)
		}
		seen[p.Name] = true
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	o.PollWait = or(o.PollWait, 50*time.Second)
	o.Resync = or(o.Resync, 30*time.Second)
	o.Retry = or(o.Retry, 2*time.Second)
	o.Backoff[0], o.Backoff[1] = or(o.Backoff[0], time.Second), or(o.Backoff[1], 30*time.Second)
	port := o.Local.WANPort
	if port == 0 {
		port = tunnel.DefaultPort
	}
	c := &Controller{
		o: o, log: o.Log.With("cluster", o.Cluster), m: newMetrics(o.Metrics),
		endpoint: net.JoinHostPort(o.Local.WAN.String(), strconv.Itoa(int(port))),
		rotate:   make(chan chan rotation),
	}
	c.key.Store(&o.Local.PublicKey)
	return c, nil
}

func or(d, def time.Duration) time.Duration {
	if d > 0 {
		return d
	}
	return def
}

// Ready is nil once the controller has converged with every provider's
// config at least once.
func (c *Controller) Ready() error {
	if !c.ready.Load() {
		return errors.New("switchboard-edge has not heard from every provider yet")
	}
	return nil
}

// update is a provider's new edge config.
type update struct {
	provider string
	cfg      idco.EdgeConfig
}

// Run watches every provider and converges until ctx ends. Only this
// goroutine holds the providers' configs and writes the kernel and the
// API; the watchers only hand configs over.
func (c *Controller) Run(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	defer wg.Wait()
	defer cancel()
	updates := make(chan update)
	for _, p := range c.o.Providers {
		wg.Add(1)
		go func() { defer wg.Done(); c.watch(ctx, p, updates) }()
	}
	cfgs := map[string]idco.EdgeConfig{}
	timer := time.NewTimer(c.o.Resync)
	defer timer.Stop()
	var lastProblems string
	for {
		select {
		case <-ctx.Done():
			return nil
		case u := <-updates:
			cfgs[u.provider] = u.cfg
		case reply := <-c.rotate:
			key, err := c.rotateKey(ctx)
			reply <- rotation{key, err}
		case <-c.o.Changed:
			c.log.Info("re-converging: the tunnel's device changed")
		case <-timer.C:
		}
		next := c.o.Resync
		if len(cfgs) == len(c.o.Providers) { // until then the kernel keeps what it has
			var err error
			if lastProblems, err = c.converge(ctx, cfgs, lastProblems); err != nil {
				c.m.setErrors.Inc()
				c.log.Error("converge edge", "err", err)
				next = c.o.Retry
			} else {
				c.ready.Store(true)
			}
		}
		timer.Reset(next)
	}
}

// converge merges the configs, makes the edge Attachments say so, then the
// kernel. It logs the merge's problems when they change.
func (c *Controller) converge(ctx context.Context, cfgs map[string]idco.EdgeConfig, lastProblems string) (string, error) {
	cfg, atts, problems := merge(c.o.Local, cfgs)
	var b strings.Builder
	for _, p := range problems {
		b.WriteString(p.Error() + "\n")
	}
	if b.String() != lastProblems {
		for _, p := range problems {
			c.log.Warn("left out of the edge config", "provider", p.Provider, "network", p.Network, "vni", p.VNI, "err", p.Err)
		}
	}
	c.m.problems.Set(float64(len(problems)))
	c.m.links.Set(float64(len(cfg.Links)))
	errA := c.syncAttachments(ctx, atts)
	errS := c.o.Edge.Set(cfg)
	if st, err := c.o.Edge.Status(); err == nil {
		ready := 0
		for _, l := range st.Links {
			if l.Ready {
				ready++
			} else {
				c.log.Debug("link not ready", "vni", l.ID, "missing", l.Missing)
			}
		}
		c.m.linksReady.Set(float64(ready))
	}
	return b.String(), errors.Join(errA, errS)
}

// watch registers this edge's endpoint with one provider and long-polls
// its edge config, handing every new revision to Run. Errors are counted
// and retried with exponential backoff; after one, the endpoint is set
// again (the IDCO may have restarted without it) and the config fetched
// afresh. Nothing is handed over on error: the last config stays.
func (c *Controller) watch(ctx context.Context, p Provider, out chan<- update) {
	log := c.log.With("provider", p.Name)
	backoff := c.o.Backoff[0]
	fail := func(what string, err error) {
		c.m.idcoErrors.WithLabelValues(p.Name).Inc()
		log.Warn("provider unreachable; keeping its last config", "call", what, "err", err, "retry", backoff)
		sleep(ctx, backoff)
		backoff = min(2*backoff, c.o.Backoff[1])
	}
	registered, registeredKey, since := false, "", int64(-1)
	for ctx.Err() == nil {
		// A rotated key is registered by Run at once; this catches up
		// with a provider that was unreachable then.
		if key := *c.key.Load(); !registered || key != registeredKey {
			if err := p.IDCO.SetEdgeEndpoint(ctx, c.o.Cluster, idco.EdgeEndpointRequest{Endpoint: c.endpoint, PublicKey: key}); err != nil {
				if ctx.Err() == nil {
					fail("set edge endpoint", err)
				}
				continue
			}
			registered, registeredKey = true, key
			log.Info("edge endpoint set", "endpoint", c.endpoint, "publicKey", key)
		}
		wait := c.o.PollWait
		if since < 0 {
			wait = 0
		}
		cfg, err := p.IDCO.EdgeConfig(ctx, c.o.Cluster, max(since, 0), wait)
		if err != nil {
			if ctx.Err() == nil {
				fail("edge config", err)
			}
			registered, since = false, -1
			continue
		}
		backoff = c.o.Backoff[0]
		if cfg.Revision == since {
			continue
		}
		since = cfg.Revision
		log.Info("edge config", "revision", cfg.Revision, "networks", len(cfg.Networks))
		select {
		case out <- update{provider: p.Name, cfg: cfg}:
		case <-ctx.Done():
		}
	}
}

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}
