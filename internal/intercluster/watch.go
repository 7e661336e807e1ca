package intercluster

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/go-logr/logr"
	"k8s.io/client-go/tools/record"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	logf "sigs.k8s.io/controller-runtime/pkg/log"

	"switchboard/api/v1alpha1"
	"switchboard/internal/idco"
)

// Watcher follows this cluster's authorizations at every provider that a
// Network uses (a manager Runnable, so it runs on the leader only). For
// each such provider one goroutine long-polls the IDCO; on every answer it
// turns the decisions in the pods' Authorizations whose authorization
// ended into refusals (revokeEntry), and releases the authorizations whose
// pod is gone. The first poll of each provider does not wait, and every
// answer is applied as a whole, so a restart misses nothing.
//
// A provider is in use while an ext-vnet Network names it in spec.provider
// or any Network in status.registeredProvider. When none does any more,
// its goroutine stops and the Registrar closes and forgets its client, so
// that Networks that come and go leave nothing running behind them. Every
// change of a Network brings a rescan (ProviderUse), and the Networks are
// scanned every 30s besides.
type Watcher struct {
	// Client reads pod metadata, Networks and Authorizations from the
	// cache, and writes.
	Client client.Client
	// APIReader reads pods, Authorizations and Attachments from the API
	// server.
	APIReader client.Reader
	Recorder  record.EventRecorder
	Providers *Registrar
	// Wait is how long one long poll waits for a change; 0 means 30s.
	Wait time.Duration
	// Grace is how long an authorization may be active for a pod that
	// exists but whose Authorization does not carry it (a decision being
	// written, or a recreated pod) before it is released; 0 means 15s.
	Grace time.Duration

	once   sync.Once
	use    chan v1alpha1.Provider
	rescan chan struct{}
}

func (w *Watcher) init() {
	w.once.Do(func() { w.use, w.rescan = make(chan v1alpha1.Provider, 64), make(chan struct{}, 1) })
}

// Use makes sure provider p is watched. It never blocks; a provider it
// drops is found by the next scan of the Networks.
func (w *Watcher) Use(p v1alpha1.Provider) {
	w.init()
	select {
	case w.use <- p:
	default:
	}
}

// Rescan asks for a scan of the Networks soon, to start or stop watching
// providers. It never blocks; requests made before the scan runs are one.
func (w *Watcher) Rescan() {
	w.init()
	select {
	case w.rescan <- struct{}{}:
	default:
	}
}

// watching is one provider's running watch.
type watching struct {
	stop context.CancelFunc
	done chan struct{}
}

// Start watches the providers in use, and those passed to Use, until ctx
// ends.
func (w *Watcher) Start(ctx context.Context) error {
	w.init()
	log := logf.FromContext(ctx).WithName("authorization-watcher")
	running := map[v1alpha1.Provider]watching{}
	stop := func(p v1alpha1.Provider) {
		running[p].stop()
		<-running[p].done // its last request is cancelled before the client closes
		delete(running, p)
	}
	defer func() {
		for p := range running {
			stop(p)
		}
	}()
	start := func(p v1alpha1.Provider) {
		if _, ok := running[p]; ok {
			return
		}
		if err := w.Providers.check(p); err != nil {
			return // the Network's condition says why
		}
		pctx, cancel := context.WithCancel(ctx)
		wt := watching{stop: cancel, done: make(chan struct{})}
		running[p] = wt
		go func() {
			defer close(wt.done)
			w.watch(pctx, log.WithValues("provider", p.Name, "domain", p.Domain), p)
		}()
	}
	scan := func() {
		inUse, err := w.providersInUse(ctx)
		if err != nil {
			log.Error(err, "list networks")
			return
		}
		for p := range inUse {
			start(p)
		}
		for p := range running {
			if !inUse[p] {
				stop(p)
				log.Info("stopped watching provider: no Network uses it", "provider", p.Name, "domain", p.Domain)
			}
		}
		w.Providers.retain(inUse)
	}
	scan()
	t := time.NewTicker(30 * time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case p := <-w.use:
			start(p)
		case <-w.rescan:
			scan()
		case <-t.C:
			scan()
		}
	}
}

// providersInUse returns the providers that Networks name: spec.provider
// of the ext-vnet ones, and status.registeredProvider of all.
func (w *Watcher) providersInUse(ctx context.Context) (map[v1alpha1.Provider]bool, error) {
	var nets v1alpha1.NetworkList
	if err := w.Client.List(ctx, &nets); err != nil {
		return nil, err
	}
	inUse := map[v1alpha1.Provider]bool{}
	for _, n := range nets.Items {
		if n.Spec.Type == v1alpha1.ExtVNet && n.Spec.Provider != nil {
			inUse[*n.Spec.Provider] = true
		}
		if p := n.Status.RegisteredProvider; p != nil {
			inUse[*p] = true
		}
	}
	return inUse, nil
}

// ProviderUse asks the Watcher for a rescan on every change of a Network,
// so that a provider is watched as soon as a Network names it and stops
// being watched as soon as none does.
type ProviderUse struct{ Watcher *Watcher }

// Reconcile asks for a rescan.
func (u *ProviderUse) Reconcile(context.Context, ctrl.Request) (ctrl.Result, error) {
	u.Watcher.Rescan()
	return ctrl.Result{}, nil
}

// SetupWithManager watches Networks.
func (u *ProviderUse) SetupWithManager(mgr ctrl.Manager) error {
	return ctrl.NewControllerManagedBy(mgr).Named("provider-use").For(&v1alpha1.Network{}).Complete(u)
}

// watch long-polls provider p until ctx ends. Errors are retried with a
// backoff of up to 30s, from the same revision, without waiting.
func (w *Watcher) watch(ctx context.Context, log logr.Logger, p v1alpha1.Provider) {
	cluster := w.Providers.Cluster()
	var since int64
	wait, backoff := time.Duration(0), time.Second
	pending := map[string]time.Time{}
	for ctx.Err() == nil {
		err := func() error {
			c, err := w.Providers.Client(&p)
			if err != nil {
				return err
			}
			l, err := c.Authorizations(ctx, cluster, since, wait)
			if err != nil {
				return fmt.Errorf("poll authorizations of cluster %q: %w", cluster, err)
			}
			if err := w.apply(ctx, p, l, pending); err != nil {
				return err
			}
			since = l.Revision
			return nil
		}()
		if err == nil {
			wait, backoff = w.wait(), time.Second
			continue
		}
		if ctx.Err() != nil {
			return
		}
		log.Error(err, "watch authorizations; retrying", "after", backoff)
		wait = 0
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 30*time.Second)
	}
}

func (w *Watcher) wait() time.Duration {
	if w.Wait > 0 {
		return w.Wait
	}
	return 30 * time.Second
}

func (w *Watcher) grace() time.Duration {
	if w.Grace > 0 {
		return w.Grace
	}
	return 15 * time.Second
}

// explain says what an ended authorization means for the pod's owner.
func explain(provider string, a idco.Authorization) string {
	why := map[string]string{
		"RevokedKey":                   "the signing key of user %q was revoked at the provider; register a new key, sign a new token and recreate the pod",
		idco.ReasonNotInAccessList:     "a cluster's access list no longer holds user %q or their key; ask that network owner to add it back",
		idco.ReasonNoPermission:        "user %q lost the provider's permission for this network; ask the IDCO admin to grant it again",
		"Expired":                      "the token of user %q expired; sign a new one and recreate the pod",
		idco.ReasonReleased:            "the authorization of user %q was released",
		"Superseded":                   "the pod of user %q was authorized again",
		idco.ReasonNetworkDeregistered: "the network was deregistered in this cluster (its Network was deleted, or moved to another provider), which ended the authorization of user %q",
		"":                             "the provider no longer holds the authorization of user %q (it ended while the operator was not watching); recreate the pod with a valid token",
	}[a.RevokedReason]
	if why == "" {
		why = "the provider ended the authorization of user %q"
	}
	return fmt.Sprintf("provider %q ended authorization %s: %s", provider, a.ID, fmt.Sprintf(why, a.User))
}
