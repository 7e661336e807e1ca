package store

import (
	"context"
	"fmt"
	"time"

	"switchboard/internal/idco"
)

func (t *tx) PolicyGeneration(ctx context.Context) (int64, error) {
	// On PostgreSQL the row is share-locked until the transaction ends:
	// a writer that bumps the generation waits for the decisions being
	// made on the old one to commit, and they wait for it, so a decision
	// never commits on a policy that a concurrent write has replaced.
	// SQLite has one writer at a time, which gives the same order.
	q := `SELECT value FROM policy_generation WHERE id = 1`
	if t.d.name == "postgres" {
		q += ` FOR SHARE`
	}
	var v int64
	if err := t.row(ctx, q).Scan(&v); err != nil {
		return 0, fmt.Errorf("read policy generation: %w", err)
	}
	return v, nil
}

func (t *tx) BumpPolicyGeneration(ctx context.Context) (int64, error) {
	var v int64
	if err := t.row(ctx, `UPDATE policy_generation SET value = value + 1 WHERE id = 1 RETURNING value`).Scan(&v); err != nil {
		return 0, fmt.Errorf("bump policy generation: %w", err)
	}
	return v, nil
}

func (t *tx) EndedAuthorizations(ctx context.Context, before time.Time, limit int) ([]idco.Authorization, error) {
	return t.authzs(ctx, `SELECT `+authzColumns+` FROM authorizations WHERE revoked_at IS NOT NULL AND revoked_at < ?
		ORDER BY revoked_at, id LIMIT ?`, nanos(before), limit)
}

func (t *tx) DeleteEndedAuthorizations(ctx context.Context, before time.Time, through idco.Authorization) (int, error) {
	if through.RevokedAt == nil {
		return 0, fmt.Errorf("delete ended authorizations through %s: it has not ended", through.ID)
	}
	// The rows EndedAuthorizations listed, in its order, up to through.
	res, err := t.exec(ctx, `DELETE FROM authorizations WHERE revoked_at IS NOT NULL AND revoked_at < ?
		AND (revoked_at < ? OR (revoked_at = ? AND id <= ?))`,
		nanos(before), nanos(*through.RevokedAt), nanos(*through.RevokedAt), through.ID)
	if err != nil {
		return 0, fmt.Errorf("delete authorizations ended before %s: %w", before.Format(time.RFC3339), err)
	}
	n, _ := res.RowsAffected()
	return int(n), nil
}

func (t *tx) AuditBefore(ctx context.Context, before time.Time, limit int) ([]idco.AuditEntry, error) {
	rows, err := t.query(ctx, `SELECT `+auditColumns+` FROM audit WHERE at < ? ORDER BY id LIMIT ?`, nanos(before), limit)
	if err != nil {
		return nil, fmt.Errorf("read audit entries before %s: %w", before.Format(time.RFC3339), err)
	}
	return scanAudit(rows)
}

func (t *tx) DeleteAudit(ctx context.Context, before time.Time, throughID int64) (int, error) {
	res, err := t.exec(ctx, `DELETE FROM audit WHERE at < ? AND id <= ?`, nanos(before), throughID)
	if err != nil {
		return 0, fmt.Errorf("delete audit entries before %s: %w", before.Format(time.RFC3339), err)
	}
	n, _ := res.RowsAffected()
	return int(n), nil
}
