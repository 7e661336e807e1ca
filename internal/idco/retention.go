package idco

import (
	"context"
	"fmt"
	"time"
)

// Retention says how long the IDCO keeps its audit log and its ended
// (revoked, released, expired, superseded) authorizations, and where rows
// go before they are deleted. Active authorizations are never deleted.
type Retention struct {
	// Audit is how long audit entries are kept; zero keeps them forever.
	Audit time.Duration
	// EndedAuthorizations is how long an authorization is kept after it
	// ended; zero keeps them forever. An operator that has not polled for
	// longer no longer learns of those revocations from the revoked list;
	// it still gets the whole active list.
	EndedAuthorizations time.Duration
	// Export receives the rows before they are deleted; nil deletes
	// without exporting.
	Export Exporter
	// Every is the period of RunRetention's sweeps.
	Every time.Duration
}

// Exporter receives rows before the IDCO deletes them. It must have them
// stored durably when it returns nil: the rows are deleted next. A sweep
// cut between the two exports the same rows again at its next run.
type Exporter interface {
	ExportAudit(ctx context.Context, es []AuditEntry) error
	ExportAuthorizations(ctx context.Context, as []Authorization) error
	// String names where the rows go, for logs.
	String() string
}

// SweepResult is what one retention sweep deleted.
type SweepResult struct {
	Audit          int // audit entries exported and deleted
	Authorizations int // ended authorizations exported and deleted
	Took           time.Duration
}

// sweepBatch is how many rows one export and delete handles.
const sweepBatch = 1000

// Sweep exports and then deletes the audit entries and ended
// authorizations older than r allows, in batches, each deleted in its own
// transaction after its export returned. It is safe to run beside
// decisions, and idempotent.
func (s *Service) Sweep(ctx context.Context, r Retention) (SweepResult, error) {
	start := s.now()
	var res SweepResult
	var err error
	if r.EndedAuthorizations > 0 {
		res.Authorizations, err = s.sweepAuthorizations(ctx, start.Add(-r.EndedAuthorizations), r.Export)
		if err != nil {
			return res, err
		}
	}
	if r.Audit > 0 {
		res.Audit, err = s.sweepAudit(ctx, start.Add(-r.Audit), r.Export)
		if err != nil {
			return res, err
		}
	}
	res.Took = s.now().Sub(start)
	return res, nil
}

func (s *Service) sweepAuthorizations(ctx context.Context, before time.Time, ex Exporter) (int, error) {
	total := 0
	for {
		var as []Authorization
		err := s.store.View(ctx, func(tx Tx) (err error) {
			as, err = tx.EndedAuthorizations(ctx, before, sweepBatch)
			return err
		})
		if err != nil || len(as) == 0 {
			return total, err
		}
		if ex != nil {
			if err := ex.ExportAuthorizations(ctx, as); err != nil {
				return total, fmt.Errorf("export %d ended authorizations to %s before deleting them: %w", len(as), ex, err)
			}
		}
		var n int
		err = s.update(ctx, func(w *write) (err error) {
			n, err = w.DeleteEndedAuthorizations(ctx, before, as[len(as)-1])
			return err
		})
		if err != nil {
			return total, err
		}
		total += n
		if len(as) < sweepBatch {
			return total, nil
		}
	}
}

func (s *Service) sweepAudit(ctx context.Context, before time.Time, ex Exporter) (int, error) {
	total := 0
	for {
		var es []AuditEntry
		err := s.store.View(ctx, func(tx Tx) (err error) {
			es, err = tx.AuditBefore(ctx, before, sweepBatch)
			return err
		})
		if err != nil || len(es) == 0 {
			return total, err
		}
		if ex != nil {
			if err := ex.ExportAudit(ctx, es); err != nil {
				return total, fmt.Errorf("export %d audit entries to %s before deleting them: %w", len(es), ex, err)
			}
		}
		var n int
		err = s.update(ctx, func(w *write) (err error) {
			n, err = w.DeleteAudit(ctx, before, es[len(es)-1].ID)
			return err
		})
		if err != nil {
			return total, err
		}
		total += n
		if len(es) < sweepBatch {
			return total, nil
		}
	}
}

// RunRetention sweeps every r.Every until ctx ends, logging one line per
// sweep and passing each outcome to observe (nil: none), for metrics.
// Errors are logged and retried at the next sweep. It returns at once if
// r keeps everything.
func (s *Service) RunRetention(ctx context.Context, r Retention, observe func(SweepResult, error)) {
	if r.Audit <= 0 && r.EndedAuthorizations <= 0 {
		return
	}
	every := r.Every
	if every <= 0 {
		every = time.Hour
	}
	export := "nowhere (deleted without export)"
	if r.Export != nil {
		export = r.Export.String()
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		res, err := s.Sweep(ctx, r)
		if ctx.Err() != nil {
			return
		}
		if observe != nil {
			observe(res, err)
		}
		if err != nil {
			s.log.Error("retention sweep failed", "err", err, "auditDeleted", res.Audit, "authorizationsDeleted", res.Authorizations)
		} else {
			s.log.Info("retention sweep", "auditDeleted", res.Audit, "authorizationsDeleted", res.Authorizations,
				"exportedTo", export, "took", res.Took.String(), "auditRetention", r.Audit.String(),
				"endedAuthorizationRetention", r.EndedAuthorizations.String())
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
