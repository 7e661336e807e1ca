package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"
	"time"

	"switchboard/internal/idco"
)

// tx implements idco.Tx on one database/sql transaction.
type tx struct {
	tx    *sql.Tx
	d     dialect
	stmts *stmtCache
	// missed lists the queries run unprepared, to prepare afterwards.
	missed []string
}

func (t *tx) exec(ctx context.Context, q string, args ...any) (sql.Result, error) {
	if st := t.stmt(ctx, q); st != nil {
		return st.ExecContext(ctx, args...)
	}
	return t.tx.ExecContext(ctx, t.d.rebind(q), args...)
}

func (t *tx) query(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	if st := t.stmt(ctx, q); st != nil {
		return st.QueryContext(ctx, args...)
	}
	return t.tx.QueryContext(ctx, t.d.rebind(q), args...)
}

func (t *tx) row(ctx context.Context, q string, args ...any) *sql.Row {
	if st := t.stmt(ctx, q); st != nil {
		return st.QueryRowContext(ctx, args...)
	}
	return t.tx.QueryRowContext(ctx, t.d.rebind(q), args...)
}

// stmt returns q prepared on the transaction's connection, or nil the
// first time q runs: it is then prepared after the transaction, when a
// connection is free (SQLite has only the transaction's). Parsing the SQL
// was a fifth of the CPU time of an authorization decision on SQLite.
func (t *tx) stmt(ctx context.Context, q string) *sql.Stmt {
	st := t.stmts.get(q)
	if st == nil {
		t.missed = append(t.missed, q)
		return nil
	}
	return t.tx.StmtContext(ctx, st)
}

// stmtCache holds the database's prepared statements by query text. It is
// safe for concurrent use.
type stmtCache struct {
	db *sql.DB
	d  dialect
	mu sync.Mutex
	m  map[string]*sql.Stmt
}

func (c *stmtCache) get(q string) *sql.Stmt {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.m[q]
}

// prepare prepares the queries not yet prepared. It needs a free
// connection: never call it inside a transaction. A query that fails to
// prepare keeps running unprepared.
func (c *stmtCache) prepare(ctx context.Context, qs []string) {
	for _, q := range qs {
		if c.get(q) != nil {
			continue
		}
		st, err := c.db.PrepareContext(ctx, c.d.rebind(q))
		if err != nil {
			continue
		}
		c.mu.Lock()
		if c.m == nil {
			c.m = map[string]*sql.Stmt{}
		}
		if _, ok := c.m[q]; ok {
			st.Close()
		} else {
			c.m[q] = st
		}
		c.mu.Unlock()
	}
}

func (c *stmtCache) close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, st := range c.m {
		st.Close()
	}
	c.m = nil
}

func nanos(t time.Time) int64 { return t.UnixNano() }

func fromNanos(n int64) time.Time { return time.Unix(0, n).UTC() }

func nullNanos(p *time.Time) sql.NullInt64 {
	if p == nil {
		return sql.NullInt64{}
	}
	return sql.NullInt64{Int64: p.UnixNano(), Valid: true}
}

func fromNull(n sql.NullInt64) *time.Time {
	if !n.Valid {
		return nil
	}
	t := fromNanos(n.Int64)
	return &t
}

// notFound turns sql.ErrNoRows into an error wrapping idco.ErrNotFound.
func notFound(err error, what, name string) error {
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("%s %q: %w", what, name, idco.ErrNotFound)
	}
	return fmt.Errorf("read %s %q: %w", what, name, err)
}

func (t *tx) Revision(ctx context.Context) (int64, error) {
	var v int64
	if err := t.row(ctx, `SELECT value FROM revision WHERE id = 1`).Scan(&v); err != nil {
		return 0, fmt.Errorf("read revision: %w", err)
	}
	return v, nil
}

func (t *tx) BumpRevision(ctx context.Context) (int64, error) {
	var v int64
	if err := t.row(ctx, `UPDATE revision SET value = value + 1 WHERE id = 1 RETURNING value`).Scan(&v); err != nil {
		return 0, fmt.Errorf("bump revision: %w", err)
	}
	return v, nil
}

func (t *tx) EnsureCluster(ctx context.Context, name string, at time.Time) error {
	_, err := t.exec(ctx, `INSERT INTO clusters (name, created_at, updated_at) VALUES (?, ?, ?) ON CONFLICT (name) DO NOTHING`,
		name, nanos(at), nanos(at))
	if err != nil {
		return fmt.Errorf("insert cluster %q: %w", name, err)
	}
	return nil
}

func (t *tx) SetEdgeEndpoint(ctx context.Context, cluster, endpoint, publicKey string, at time.Time) error {
	res, err := t.exec(ctx, `UPDATE clusters SET edge_endpoint = ?, edge_public_key = ?, updated_at = ? WHERE name = ?`, endpoint, publicKey, nanos(at), cluster)
	if err != nil {
		return fmt.Errorf("set edge endpoint of cluster %q: %w", cluster, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("cluster %q: %w", cluster, idco.ErrNotFound)
	}
	return nil
}

func (t *tx) Cluster(ctx context.Context, name string) (idco.Cluster, error) {
	c := idco.Cluster{Name: name}
	err := t.row(ctx, `SELECT edge_endpoint, edge_public_key FROM clusters WHERE name = ?`, name).Scan(&c.EdgeEndpoint, &c.EdgePublicKey)
	if err != nil {
		return idco.Cluster{}, notFound(err, "cluster", name)
	}
	return c, nil
}

func (t *tx) Clusters(ctx context.Context) ([]idco.Cluster, error) {
	rows, err := t.query(ctx, `SELECT name, edge_endpoint, edge_public_key FROM clusters ORDER BY name`)
	if err != nil {
		return nil, fmt.Errorf("list clusters: %w", err)
	}
	defer rows.Close()
	var cs []idco.Cluster
	for rows.Next() {
		var c idco.Cluster
		if err := rows.Scan(&c.Name, &c.EdgeEndpoint, &c.EdgePublicKey); err != nil {
			return nil, fmt.Errorf("list clusters: %w", err)
		}
		cs = append(cs, c)
	}
	return cs, rows.Err()
}

func (t *tx) EnsureUser(ctx context.Context, name string, at time.Time) error {
	if _, err := t.exec(ctx, `INSERT INTO users (name, created_at) VALUES (?, ?) ON CONFLICT (name) DO NOTHING`, name, nanos(at)); err != nil {
		return fmt.Errorf("insert user %q: %w", name, err)
	}
	return nil
}

func (t *tx) UserExists(ctx context.Context, name string) (bool, error) {
	var n int
	if err := t.row(ctx, `SELECT COUNT(*) FROM users WHERE name = ?`, name).Scan(&n); err != nil {
		return false, fmt.Errorf("look up user %q: %w", name, err)
	}
	return n > 0, nil
}

func (t *tx) AddKey(ctx context.Context, k idco.Key) error {
	old, err := t.Key(ctx, k.Fingerprint)
	switch {
	case err == nil && old.User != k.User:
		return fmt.Errorf("key %s belongs to user %q, not %q: %w", k.Fingerprint, old.User, k.User, idco.ErrConflict)
	case err == nil:
		return nil
	case !errors.Is(err, idco.ErrNotFound):
		return err
	}
	_, err = t.exec(ctx, `INSERT INTO keys (fingerprint, user_name, pem, created_at, revoked_at) VALUES (?, ?, ?, ?, ?)`,
		k.Fingerprint, k.User, k.PEM, nanos(k.CreatedAt), nullNanos(k.RevokedAt))
	if err != nil {
		return fmt.Errorf("insert key %s of user %q: %w", k.Fingerprint, k.User, err)
	}
	return nil
}

const keyColumns = `fingerprint, user_name, pem, created_at, revoked_at`

func scanKey(s interface{ Scan(...any) error }) (idco.Key, error) {
	var k idco.Key
	var created int64
	var revoked sql.NullInt64
	if err := s.Scan(&k.Fingerprint, &k.User, &k.PEM, &created, &revoked); err != nil {
		return idco.Key{}, err
	}
	k.CreatedAt, k.RevokedAt = fromNanos(created), fromNull(revoked)
	return k, nil
}

func (t *tx) Key(ctx context.Context, fingerprint string) (idco.Key, error) {
	k, err := scanKey(t.row(ctx, `SELECT `+keyColumns+` FROM keys WHERE fingerprint = ?`, fingerprint))
	if err != nil {
		return idco.Key{}, notFound(err, "key", fingerprint)
	}
	return k, nil
}

func (t *tx) UserKeys(ctx context.Context, user string) ([]idco.Key, error) {
	rows, err := t.query(ctx, `SELECT `+keyColumns+` FROM keys WHERE user_name = ? ORDER BY created_at, fingerprint`, user)
	if err != nil {
		return nil, fmt.Errorf("list keys of user %q: %w", user, err)
	}
	defer rows.Close()
	var ks []idco.Key
	for rows.Next() {
		k, err := scanKey(rows)
		if err != nil {
			return nil, fmt.Errorf("list keys of user %q: %w", user, err)
		}
		ks = append(ks, k)
	}
	return ks, rows.Err()
}

func (t *tx) RevokeKey(ctx context.Context, fingerprint string, at time.Time) error {
	if _, err := t.Key(ctx, fingerprint); err != nil {
		return err
	}
	if _, err := t.exec(ctx, `UPDATE keys SET revoked_at = ? WHERE fingerprint = ? AND revoked_at IS NULL`, nanos(at), fingerprint); err != nil {
		return fmt.Errorf("revoke key %s: %w", fingerprint, err)
	}
	return nil
}

func (t *tx) Grant(ctx context.Context, user, network string, at time.Time) error {
	_, err := t.exec(ctx, `INSERT INTO permissions (user_name, network, granted_at) VALUES (?, ?, ?) ON CONFLICT (user_name, network) DO NOTHING`,
		user, network, nanos(at))
	if err != nil {
		return fmt.Errorf("grant user %q network %q: %w", user, network, err)
	}
	return nil
}

func (t *tx) RevokePermission(ctx context.Context, user, network string) (bool, error) {
	res, err := t.exec(ctx, `DELETE FROM permissions WHERE user_name = ? AND network = ?`, user, network)
	if err != nil {
		return false, fmt.Errorf("revoke permission of user %q on network %q: %w", user, network, err)
	}
	n, _ := res.RowsAffected()
	return n > 0, nil
}

func (t *tx) HasPermission(ctx context.Context, user, network string) (bool, error) {
	var n int
	if err := t.row(ctx, `SELECT COUNT(*) FROM permissions WHERE user_name = ? AND network = ?`, user, network).Scan(&n); err != nil {
		return false, fmt.Errorf("look up permission of user %q on network %q: %w", user, network, err)
	}
	return n > 0, nil
}
