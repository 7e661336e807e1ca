package idco

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"
)

// ErrInvalid marks a request the caller must fix (a missing or malformed
// field); the HTTP layer answers it with 400.
var ErrInvalid = errors.New("invalid request")

// Default range of inter-cluster VNIs: the upper half of the 24-bit space,
// so they never meet the operator's intra-cluster VNIs.
const (
	DefaultVNIMin uint32 = 1 << 23
	DefaultVNIMax uint32 = 1<<24 - 1
)

// Service is the IDCO. Its methods are safe for concurrent use: writes are
// serialized by the Service (one writer per IDCO process), reads run in
// parallel. The Service owns no state besides the Store, so a new Service
// on the same Store carries on where the old one stopped.
type Service struct {
	store          Store
	log            *slog.Logger
	now            func() time.Time
	vniMin, vniMax uint32

	mu    sync.Mutex // serializes Update transactions
	cache *policyCache

	queueMu sync.Mutex
	queue   []*pending // decisions waiting for a batch
	leading bool       // a decision leads: it commits the batches
	// verifying counts decisions checking signatures, soon to queue.
	verifying atomic.Int64

	wakeMu sync.Mutex
	wake   chan struct{} // closed and replaced when the revision moves
}

// Option configures a Service.
type Option func(*Service)

// WithLogger sets the logger; the default discards.
func WithLogger(l *slog.Logger) Option { return func(s *Service) { s.log = l } }

// WithClock sets the source of the current time (tests).
func WithClock(now func() time.Time) Option { return func(s *Service) { s.now = now } }

// WithVNIRange sets the range the inter-cluster VNIs are taken from.
func WithVNIRange(min, max uint32) Option {
	return func(s *Service) { s.vniMin, s.vniMax = min, max }
}

// New returns a Service on store. The caller keeps owning store and closes
// it after the Service is no longer used.
func New(store Store, opts ...Option) *Service {
	s := &Service{
		store:  store,
		log:    slog.New(slog.DiscardHandler),
		now:    time.Now,
		vniMin: DefaultVNIMin,
		vniMax: DefaultVNIMax,
		wake:   make(chan struct{}),
		cache:  newPolicyCache(),
	}
	for _, o := range opts {
		o(s)
	}
	return s
}

type actorKey struct{}

// WithActor returns a context naming who makes the request ("cluster/a",
// "admin/alice"); the Service writes it in the audit log.
func WithActor(ctx context.Context, actor string) context.Context {
	return context.WithValue(ctx, actorKey{}, actor)
}

func actorOf(ctx context.Context) string {
	if a, ok := ctx.Value(actorKey{}).(string); ok && a != "" {
		return a
	}
	return "local"
}

// update runs fn in a write transaction, one at a time, and wakes the long
// polls if fn moved the revision.
func (s *Service) update(ctx context.Context, fn func(w *write) error) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	var w *write
	err := s.store.Update(ctx, func(tx Tx) error {
		w = &write{Tx: tx, ctx: ctx, now: s.now().UTC(), actor: actorOf(ctx)}
		return fn(w)
	})
	if w != nil && w.policy {
		s.cache.drop()
	}
	if err == nil && w != nil && w.rev != 0 {
		s.wakeUp()
	}
	return err
}

// write is one write transaction: it bumps the revision at most once and
// stamps audit entries with the same actor and time.
type write struct {
	Tx
	ctx   context.Context
	now   time.Time
	actor string
	rev   int64
	// policy is set once the transaction bumped the policy generation.
	policy bool
	// audits, when set, collects the audit entries to append together at
	// the end of the transaction.
	audits *[]AuditEntry
	nonces map[[2]string]int // nonce uses counted in this transaction
	// pods, when set, holds the active authorizations of the pods a batch
	// decides on, read together; granted collects the authorizations the
	// batch makes, inserted together at its end.
	pods    map[PodRef][]Authorization
	granted *[]Authorization
}

// activeFor returns the pod's active authorizations, this transaction's
// included.
func (w *write) activeFor(ref PodRef) ([]Authorization, error) {
	if as, ok := w.pods[ref]; ok {
		return as, nil
	}
	return w.ActiveAuthorizations(w.ctx, ActiveFilter{Network: ref.Network, Cluster: ref.Cluster, Namespace: ref.Namespace, Pod: ref.Pod})
}

// insert stores a new authorization, at once or with the batch's.
func (w *write) insert(a Authorization) error {
	ref := PodRef{Cluster: a.Cluster, Network: a.Network, Namespace: a.Namespace, Pod: a.Pod}
	if w.pods != nil {
		w.pods[ref] = []Authorization{a}
	}
	if w.granted != nil {
		*w.granted = append(*w.granted, a)
		return nil
	}
	return w.InsertAuthorization(w.ctx, a)
}

// end ends authorization id: one granted in this transaction is ended
// before it is inserted. It reports false if it had already ended.
func (w *write) end(id, reason string, at time.Time, rev int64) (bool, error) {
	if w.granted != nil {
		for i := range *w.granted {
			if a := &(*w.granted)[i]; a.ID == id {
				if a.RevokedAt != nil {
					return false, nil
				}
				t := at
				a.RevokedAt, a.RevokedReason, a.Revision = &t, reason, rev
				return true, nil
			}
		}
	}
	return w.RevokeAuthorization(w.ctx, id, reason, at, rev)
}

// policyChanged bumps the policy generation, once per transaction, so that
// cached keys, access lists and permissions are read again. A write that
// changes any of them calls it before reading them (see
// Tx.PolicyGeneration for why first).
func (w *write) policyChanged() error {
	if w.policy {
		return nil
	}
	if _, err := w.BumpPolicyGeneration(w.ctx); err != nil {
		return err
	}
	w.policy = true
	return nil
}

// revision bumps the revision on first use and returns the new value.
func (w *write) revision() (int64, error) {
	if w.rev == 0 {
		r, err := w.BumpRevision(w.ctx)
		if err != nil {
			return 0, err
		}
		w.rev = r
	}
	return w.rev, nil
}

func (w *write) audit(e AuditEntry) error {
	e.At, e.Actor = w.now, w.actor
	if w.audits != nil {
		*w.audits = append(*w.audits, e)
		return nil
	}
	return w.AppendAudit(w.ctx, e)
}

// nonceUses counts, up to limit, the authorizations made with the user's
// nonce, those of this transaction included: a batch of decisions for the
// pods of one token asks the store once.
func (w *write) nonceUses(user, nonce string, limit int) (int, error) {
	k := [2]string{user, nonce}
	if n, ok := w.nonces[k]; ok {
		return min(n, limit), nil
	}
	n, err := w.NonceUses(w.ctx, user, nonce, limit)
	if err != nil {
		return 0, err
	}
	if w.nonces == nil {
		w.nonces = map[[2]string]int{}
	}
	w.nonces[k] = n
	return n, nil
}

// usedNonce notes an authorization made with the user's nonce.
func (w *write) usedNonce(user, nonce string) {
	k := [2]string{user, nonce}
	if n, ok := w.nonces[k]; ok {
		w.nonces[k] = n + 1
	}
}

func (s *Service) wakeUp() {
	s.wakeMu.Lock()
	close(s.wake)
	s.wake = make(chan struct{})
	s.wakeMu.Unlock()
}

// changed returns a channel closed at the next revision change.
func (s *Service) changed() <-chan struct{} {
	s.wakeMu.Lock()
	defer s.wakeMu.Unlock()
	return s.wake
}

func newID(prefix string) string {
	b := make([]byte, 12)
	rand.Read(b)
	return prefix + hex.EncodeToString(b)
}

func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalid, fmt.Sprintf(format, args...))
}
