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
	var export func(context.Context, []Authorization) error
	if ex != nil {
		export = ex.ExportAuthorizations
	}
	return sweep(ctx, s, "ended authorizations", ex,
		func(tx Tx) ([]Authorization, error) { return tx.EndedAuthorizations(ctx, before, sweepBatch) },
		export,
		func(w *write, last Authorization) (int, error) { return w.DeleteEndedAuthorizations(ctx, before, last) })
}

func (s *Service) sweepAudit(ctx context.Context, before time.Time, ex Exporter) (int, error) {
	var export func(context.Context, []AuditEntry) error
	if ex != nil {
		export = ex.ExportAudit
	}
	return sweep(ctx, s, "audit entries", ex,
		func(tx Tx) ([]AuditEntry, error) { return tx.AuditBefore(ctx, before, sweepBatch) },
		export,
		func(w *write, last AuditEntry) (int, error) { return w.DeleteAudit(ctx, before, last.ID) })
}

// sweep lists rows in batches of sweepBatch, exports each batch (unless
// export is nil) and then deletes it, through its last row, in a write
// transaction, until a batch comes short. It returns how many rows it
// deleted.
func sweep[T any](ctx context.Context, s *Service, what string, ex Exporter, list func(Tx) ([]T, error),
	export func(context.Context, []T) error, del func(w *write, last T) (int, error)) (int, error) {
	total := 0
	for {
		var rows []T
		err := s.store.View(ctx, func(tx Tx) (err error) {
			rows, err = list(tx)
			return err
		})
		if err != nil || len(rows) == 0 {
			return total, err
		}
		if export != nil {
			if err := export(ctx, rows); err != nil {
				return total, fmt.Errorf("export %d %s to %s before deleting them: %w", len(rows), what, ex, err)
			}
		}
		var n int
		err = s.update(ctx, func(w *write) (err error) {
			n, err = del(w, rows[len(rows)-1])
			return err
		})
		if err != nil {
			return total, err
		}
		total += n
		if len(rows) < sweepBatch {
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
