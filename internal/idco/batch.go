package idco

import (
	"context"
	"fmt"
	"runtime"
	"time"

	"switchboard/internal/token"
)

// Decisions are group-committed: each Authorize queues its request. If no
// decision is leading, the caller leads: it takes the writer lock
// (Service.mu) and commits batches (everything queued so far, up to
// maxBatch, in one transaction) until its own decision is answered, then
// hands the lead to the oldest decision still queued. The other callers
// wait for their answer, which comes only after their batch committed, so
// every decision is durable before it is answered; while one batch
// commits, the next one gathers. A failed transaction fails every decision
// in its batch, and none of them is recorded.
const (
	maxBatch = 256
	// batchTimeout bounds one batch's transaction. It does not come from
	// any caller's context: one caller giving up must not fail the others.
	batchTimeout = 15 * time.Second
)

// pending is a decision waiting for its batch.
type pending struct {
	ctx context.Context
	req AuthorizeRequest
	pre verified
	// done receives the answer; lead, the lead. Both are buffered: the
	// sender never blocks.
	done chan decided
	lead chan struct{}
	// answered is set by the committer, under Service.mu.
	answered bool
}

type decided struct {
	d   decision
	err error
}

// decideBatched queues p and returns its decision once its batch
// committed. It waits for the answer even if ctx ends (the batch then
// skips p if it has not started), so that the lead is never handed to a
// caller that left.
func (s *Service) decideBatched(p *pending) (decision, error) {
	p.done, p.lead = make(chan decided, 1), make(chan struct{}, 1)
	s.queueMu.Lock()
	s.queue = append(s.queue, p)
	leading := !s.leading
	s.leading = true
	s.queueMu.Unlock()
	if leading {
		s.leadUntilAnswered(p)
	}
	for {
		select {
		case r := <-p.done:
			return r.d, r.err
		case <-p.lead:
			s.leadUntilAnswered(p)
		}
	}
}

// leadUntilAnswered commits batches until p is answered, then hands the
// lead to the oldest queued decision, if any.
func (s *Service) leadUntilAnswered(p *pending) {
	s.mu.Lock()
	for !p.answered {
		// Let the callers still checking signatures queue first: a batch
		// is then larger and its commit shared by more decisions. Bounded,
		// so a steady stream of callers cannot hold a batch back.
		for i := 0; i < 4 && s.verifying.Load() > 0; i++ {
			runtime.Gosched()
		}
		s.commitBatch(s.takeBatch()) // p is queued until answered
	}
	s.mu.Unlock()
	s.queueMu.Lock()
	if len(s.queue) > 0 {
		s.queue[0].lead <- struct{}{}
	} else {
		s.leading = false
	}
	s.queueMu.Unlock()
}

func (s *Service) takeBatch() []*pending {
	s.queueMu.Lock()
	defer s.queueMu.Unlock()
	n := min(len(s.queue), maxBatch)
	batch := s.queue[:n:n]
	s.queue = s.queue[n:]
	if len(s.queue) == 0 {
		s.queue = nil
	}
	return batch
}

// commitBatch decides the batch in one transaction and answers each
// decision. The caller holds s.mu.
func (s *Service) commitBatch(batch []*pending) {
	ctx, cancel := context.WithTimeout(context.Background(), batchTimeout)
	defer cancel()
	results := make([]decided, len(batch))
	var w *write
	err := s.store.Update(ctx, func(tx Tx) error {
		var audits []AuditEntry
		var granted []Authorization
		w = &write{Tx: tx, ctx: ctx, now: s.now().UTC(), audits: &audits, granted: &granted}
		if err := s.cache.sync(w); err != nil {
			return err
		}
		if err := s.decideAll(w, batch, results); err != nil {
			return err
		}
		if err := w.InsertAuthorization(ctx, granted...); err != nil {
			return err
		}
		return w.AppendAudit(ctx, audits...)
	})
	if err != nil {
		s.cache.drop()
		err = fmt.Errorf("authorization not decided: the transaction of its batch of %d decision(s) failed and recorded none of them; ask again: %w", len(batch), err)
		for i := range results {
			results[i] = decided{err: err}
		}
	} else if w.rev != 0 {
		s.wakeUp()
	}
	for i, p := range batch {
		p.answered = true
		p.done <- results[i]
	}
}

// decideAll decides every decision of the batch whose caller still waits,
// into results: first the decisions, then, with the active authorizations
// of all the allowed pods read at once, the authorizations they make and
// the audit entries, decision by decision.
func (s *Service) decideAll(w *write, batch []*pending, results []decided) error {
	claims := make([]token.Claims, len(batch))
	var refs []PodRef
	for i, p := range batch {
		if err := p.ctx.Err(); err != nil {
			results[i].err = err // its caller gave up: decide nothing
			continue
		}
		d, c := s.decide(w, p.req, p.pre)
		if d.err != nil {
			return fmt.Errorf("decide authorization of pod %s/%s on network %q: %w", p.req.Namespace, p.req.Pod, p.req.Network, d.err)
		}
		results[i].d, claims[i] = d, c
		if d.Allowed {
			refs = append(refs, PodRef{Cluster: p.req.Cluster, Network: p.req.Network, Namespace: p.req.Namespace, Pod: p.req.Pod})
		}
	}
	active, err := w.ActiveForPods(w.ctx, refs)
	if err != nil {
		return err
	}
	w.pods = make(map[PodRef][]Authorization, len(refs))
	for _, r := range refs {
		w.pods[r] = nil
	}
	for _, a := range active {
		r := PodRef{Cluster: a.Cluster, Network: a.Network, Namespace: a.Namespace, Pod: a.Pod}
		w.pods[r] = append(w.pods[r], a)
	}
	for i, p := range batch {
		if results[i].err != nil {
			continue
		}
		w.actor = actorOf(p.ctx)
		d, req := &results[i].d, p.req
		if d.Allowed {
			if err := s.grantAuthorization(w, req, claims[i], d); err != nil {
				return fmt.Errorf("store authorization of pod %s/%s on network %q: %w", req.Namespace, req.Pod, req.Network, err)
			}
		}
		if err := w.audit(AuditEntry{Action: "authorize", Network: req.Network, Cluster: req.Cluster, User: claims[i].User,
			Subject: req.Namespace + "/" + req.Pod, Allowed: d.Allowed, Reason: d.Reason, Detail: d.Detail}); err != nil {
			return err
		}
	}
	return nil
}
