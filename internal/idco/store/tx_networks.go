package store

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"switchboard/internal/idco"
)

func (t *tx) Network(ctx context.Context, name string) (idco.Network, error) {
	n := idco.Network{Name: name}
	var vni, created int64
	if err := t.row(ctx, `SELECT vni, created_at FROM networks WHERE name = ?`, name).Scan(&vni, &created); err != nil {
		return idco.Network{}, notFound(err, "network", name)
	}
	n.VNI, n.CreatedAt = uint32(vni), fromNanos(created)
	return n, nil
}

func (t *tx) CreateNetwork(ctx context.Context, name string, vniMin, vniMax uint32, at time.Time) (idco.Network, error) {
	vni, err := t.freeVNI(ctx, vniMin, vniMax)
	if err != nil {
		return idco.Network{}, fmt.Errorf("assign a VNI to network %q: %w", name, err)
	}
	if _, err := t.exec(ctx, `INSERT INTO networks (name, vni, created_at) VALUES (?, ?, ?)`, name, int64(vni), nanos(at)); err != nil {
		return idco.Network{}, fmt.Errorf("insert network %q: %w", name, err)
	}
	return idco.Network{Name: name, VNI: vni, CreatedAt: at.UTC()}, nil
}

// freeVNI returns the VNI after the highest in use, or else the lowest gap.
func (t *tx) freeVNI(ctx context.Context, vniMin, vniMax uint32) (uint32, error) {
	var top sql.NullInt64
	if err := t.row(ctx, `SELECT MAX(vni) FROM networks WHERE vni >= ? AND vni <= ?`, int64(vniMin), int64(vniMax)).Scan(&top); err != nil {
		return 0, err
	}
	if !top.Valid {
		return vniMin, nil
	}
	if top.Int64 < int64(vniMax) {
		return uint32(top.Int64 + 1), nil
	}
	rows, err := t.query(ctx, `SELECT vni FROM networks WHERE vni >= ? AND vni <= ? ORDER BY vni`, int64(vniMin), int64(vniMax))
	if err != nil {
		return 0, err
	}
	defer rows.Close()
	want := int64(vniMin)
	for rows.Next() {
		var v int64
		if err := rows.Scan(&v); err != nil {
			return 0, err
		}
		if v > want {
			return uint32(want), nil
		}
		want = v + 1
	}
	if err := rows.Err(); err != nil {
		return 0, err
	}
	return 0, fmt.Errorf("all VNIs in %d-%d are taken: %w", vniMin, vniMax, idco.ErrConflict)
}

func (t *tx) PutRegistration(ctx context.Context, r idco.Registration) error {
	_, err := t.exec(ctx, `INSERT INTO registrations (network, cluster, namespace, local_name, local_vni, edge_node, edge_interface, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (network, cluster) DO UPDATE SET namespace = excluded.namespace, local_name = excluded.local_name,
			local_vni = excluded.local_vni, edge_node = excluded.edge_node, edge_interface = excluded.edge_interface,
			updated_at = excluded.updated_at`,
		r.Network, r.Cluster, r.Namespace, r.Name, int64(r.LocalVNI), r.Edge.Node, r.Edge.Interface, nanos(r.UpdatedAt))
	if err != nil {
		return fmt.Errorf("store registration of network %q in cluster %q: %w", r.Network, r.Cluster, err)
	}
	if _, err := t.exec(ctx, `DELETE FROM access_entries WHERE network = ? AND cluster = ?`, r.Network, r.Cluster); err != nil {
		return fmt.Errorf("clear access list of network %q in cluster %q: %w", r.Network, r.Cluster, err)
	}
	for _, e := range r.AccessList {
		_, err := t.exec(ctx, `INSERT INTO access_entries (network, cluster, user_name, fingerprint, pem) VALUES (?, ?, ?, ?, ?)
			ON CONFLICT (network, cluster, user_name, fingerprint) DO NOTHING`,
			r.Network, r.Cluster, e.User, e.Fingerprint, e.PublicKeyPEM)
		if err != nil {
			return fmt.Errorf("store access list entry for user %q of network %q in cluster %q: %w", e.User, r.Network, r.Cluster, err)
		}
	}
	return nil
}

func (t *tx) DeleteRegistration(ctx context.Context, network, cluster string) (bool, error) {
	// access_entries cascade from registrations; deleting them first does
	// not depend on SQLite's foreign_keys pragma.
	if _, err := t.exec(ctx, `DELETE FROM access_entries WHERE network = ? AND cluster = ?`, network, cluster); err != nil {
		return false, fmt.Errorf("delete access list of network %q in cluster %q: %w", network, cluster, err)
	}
	res, err := t.exec(ctx, `DELETE FROM registrations WHERE network = ? AND cluster = ?`, network, cluster)
	if err != nil {
		return false, fmt.Errorf("delete registration of network %q in cluster %q: %w", network, cluster, err)
	}
	n, _ := res.RowsAffected()
	return n > 0, nil
}

func (t *tx) Registrations(ctx context.Context, network string) ([]idco.Registration, error) {
	return t.registrations(ctx, "network", network)
}

func (t *tx) ClusterRegistrations(ctx context.Context, cluster string) ([]idco.Registration, error) {
	return t.registrations(ctx, "cluster", cluster)
}

// registrations lists registrations with column (network or cluster) equal
// to value, each with its access list.
func (t *tx) registrations(ctx context.Context, column, value string) ([]idco.Registration, error) {
	order := map[string]string{"network": "cluster", "cluster": "network"}[column]
	rows, err := t.query(ctx, `SELECT network, cluster, namespace, local_name, local_vni, edge_node, edge_interface, updated_at
		FROM registrations WHERE `+column+` = ? ORDER BY `+order, value)
	if err != nil {
		return nil, fmt.Errorf("list registrations of %s %q: %w", column, value, err)
	}
	var regs []idco.Registration
	for rows.Next() {
		var r idco.Registration
		var vni, updated int64
		if err := rows.Scan(&r.Network, &r.Cluster, &r.Namespace, &r.Name, &vni, &r.Edge.Node, &r.Edge.Interface, &updated); err != nil {
			rows.Close()
			return nil, fmt.Errorf("list registrations of %s %q: %w", column, value, err)
		}
		r.LocalVNI, r.UpdatedAt = uint32(vni), fromNanos(updated)
		r.AccessList = []idco.AccessEntry{}
		regs = append(regs, r)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	for i := range regs {
		if err := t.accessList(ctx, &regs[i]); err != nil {
			return nil, err
		}
	}
	return regs, nil
}

func (t *tx) accessList(ctx context.Context, r *idco.Registration) error {
	rows, err := t.query(ctx, `SELECT user_name, fingerprint, pem FROM access_entries WHERE network = ? AND cluster = ? ORDER BY user_name, fingerprint`,
		r.Network, r.Cluster)
	if err != nil {
		return fmt.Errorf("read access list of network %q in cluster %q: %w", r.Network, r.Cluster, err)
	}
	defer rows.Close()
	for rows.Next() {
		var e idco.AccessEntry
		if err := rows.Scan(&e.User, &e.Fingerprint, &e.PublicKeyPEM); err != nil {
			return fmt.Errorf("read access list of network %q in cluster %q: %w", r.Network, r.Cluster, err)
		}
		r.AccessList = append(r.AccessList, e)
	}
	return rows.Err()
}

const authzColumns = `id, network, cluster, namespace, pod, user_name, key_id, nonce, created_at, expires_at, revoked_at, revoked_reason, revision`

func scanAuthz(s interface{ Scan(...any) error }) (idco.Authorization, error) {
	var a idco.Authorization
	var created, expires int64
	var revoked sql.NullInt64
	err := s.Scan(&a.ID, &a.Network, &a.Cluster, &a.Namespace, &a.Pod, &a.User, &a.KeyID, &a.Nonce,
		&created, &expires, &revoked, &a.RevokedReason, &a.Revision)
	if err != nil {
		return idco.Authorization{}, err
	}
	a.CreatedAt, a.Expires, a.RevokedAt = fromNanos(created), fromNanos(expires), fromNull(revoked)
	return a, nil
}

func (t *tx) InsertAuthorization(ctx context.Context, as ...idco.Authorization) error {
	for len(as) > 0 {
		n := min(len(as), rowChunk)
		q := `INSERT INTO authorizations (` + authzColumns + `) VALUES ` + rows(n, 13)
		args := make([]any, 0, 13*n)
		for _, a := range as[:n] {
			args = append(args, a.ID, a.Network, a.Cluster, a.Namespace, a.Pod, a.User, a.KeyID, a.Nonce,
				nanos(a.CreatedAt), nanos(a.Expires), nullNanos(a.RevokedAt), a.RevokedReason, a.Revision)
		}
		if _, err := t.exec(ctx, q, args...); err != nil {
			return fmt.Errorf("insert %d authorizations (first %s): %w", n, as[0].ID, err)
		}
		as = as[n:]
	}
	return nil
}

// rowChunk is how many rows one multi-row INSERT or lookup handles: a
// batch of decisions writes its rows together, and a statement per row
// cost more than the row. Statements of 1 to rowChunk rows are prepared
// and kept.
const rowChunk = 32

// rows returns n parenthesised groups of width placeholders.
func rows(n, width int) string {
	one := "(?" + strings.Repeat(", ?", width-1) + ")"
	return strings.Repeat(one+", ", n-1) + one
}

func (t *tx) ActiveForPods(ctx context.Context, pods []idco.PodRef) ([]idco.Authorization, error) {
	var out []idco.Authorization
	if t.d.name == "postgres" {
		// One query per pod: PostgreSQL planned the prepared OR of pods
		// below as a sequential scan (its generic plan, made while the
		// table was small) and a batch took a hundred times longer.
		for _, p := range pods {
			as, err := t.ActiveAuthorizations(ctx, idco.ActiveFilter{Cluster: p.Cluster, Network: p.Network, Namespace: p.Namespace, Pod: p.Pod})
			if err != nil {
				return nil, err
			}
			out = append(out, as...)
		}
		return out, nil
	}
	for len(pods) > 0 {
		n := min(len(pods), rowChunk)
		var args []any
		for _, p := range pods[:n] {
			args = append(args, p.Cluster, p.Network, p.Namespace, p.Pod)
		}
		as, err := t.authzs(ctx, `SELECT `+authzColumns+` FROM authorizations WHERE revoked_at IS NULL AND (`+
			strings.TrimSuffix(strings.Repeat(`(cluster = ? AND network = ? AND namespace = ? AND pod = ?) OR `, n), ` OR `)+
			`) ORDER BY created_at, id`, args...)
		if err != nil {
			return nil, err
		}
		out = append(out, as...)
		pods = pods[n:]
	}
	return out, nil
}

func (t *tx) Authorization(ctx context.Context, id string) (idco.Authorization, error) {
	a, err := scanAuthz(t.row(ctx, `SELECT `+authzColumns+` FROM authorizations WHERE id = ?`, id))
	if err != nil {
		return idco.Authorization{}, notFound(err, "authorization", id)
	}
	return a, nil
}

func (t *tx) RevokeAuthorization(ctx context.Context, id, reason string, at time.Time, revision int64) (bool, error) {
	res, err := t.exec(ctx, `UPDATE authorizations SET revoked_at = ?, revoked_reason = ?, revision = ? WHERE id = ? AND revoked_at IS NULL`,
		nanos(at), reason, revision, id)
	if err != nil {
		return false, fmt.Errorf("revoke authorization %s: %w", id, err)
	}
	n, _ := res.RowsAffected()
	return n > 0, nil
}

func (t *tx) ActiveAuthorizations(ctx context.Context, f idco.ActiveFilter) ([]idco.Authorization, error) {
	where := []string{"revoked_at IS NULL"}
	var args []any
	for _, c := range []struct{ col, val string }{
		{"network", f.Network}, {"cluster", f.Cluster}, {"namespace", f.Namespace}, {"pod", f.Pod}, {"user_name", f.User}, {"key_id", f.KeyID},
	} {
		if c.val != "" {
			where = append(where, c.col+" = ?")
			args = append(args, c.val)
		}
	}
	if !f.ExpiresBefore.IsZero() {
		where = append(where, "expires_at < ?")
		args = append(args, nanos(f.ExpiresBefore))
	}
	return t.authzs(ctx, `SELECT `+authzColumns+` FROM authorizations WHERE `+strings.Join(where, " AND ")+` ORDER BY created_at, id`, args...)
}

func (t *tx) RevokedSince(ctx context.Context, cluster string, rev int64) ([]idco.Authorization, error) {
	return t.authzs(ctx, `SELECT `+authzColumns+` FROM authorizations WHERE cluster = ? AND revoked_at IS NOT NULL AND revision > ? ORDER BY revision, id`,
		cluster, rev)
}

func (t *tx) authzs(ctx context.Context, q string, args ...any) ([]idco.Authorization, error) {
	rows, err := t.query(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("list authorizations: %w", err)
	}
	defer rows.Close()
	as := []idco.Authorization{}
	for rows.Next() {
		a, err := scanAuthz(rows)
		if err != nil {
			return nil, fmt.Errorf("list authorizations: %w", err)
		}
		as = append(as, a)
	}
	return as, rows.Err()
}

func (t *tx) NonceUses(ctx context.Context, user, nonce string, limit int) (int, error) {
	var n int
	// Bounded: every pod started from one token Secret shares its nonce,
	// and counting them all made each decision cost as many index steps.
	q := `SELECT COUNT(*) FROM (SELECT 1 FROM authorizations WHERE user_name = ? AND nonce = ? LIMIT ?) uses`
	if err := t.row(ctx, q, user, nonce, limit).Scan(&n); err != nil {
		return 0, fmt.Errorf("count uses of nonce %q of user %q: %w", nonce, user, err)
	}
	return n, nil
}

func (t *tx) AppendAudit(ctx context.Context, es ...idco.AuditEntry) error {
	for len(es) > 0 {
		n := min(len(es), rowChunk)
		q := `INSERT INTO audit (at, actor, action, network, cluster, user_name, subject, allowed, reason, detail) VALUES ` + rows(n, 10)
		args := make([]any, 0, 10*n)
		for _, e := range es[:n] {
			allowed := 0
			if e.Allowed {
				allowed = 1
			}
			args = append(args, nanos(e.At), e.Actor, e.Action, e.Network, e.Cluster, e.User, e.Subject, allowed, e.Reason, e.Detail)
		}
		if _, err := t.exec(ctx, q, args...); err != nil {
			return fmt.Errorf("append %d audit entries (first %q): %w", n, es[0].Action, err)
		}
		es = es[n:]
	}
	return nil
}

func (t *tx) Audit(ctx context.Context, f idco.AuditFilter) ([]idco.AuditEntry, error) {
	where := []string{"1 = 1"}
	var args []any
	for _, c := range []struct{ col, val string }{{"user_name", f.User}, {"network", f.Network}, {"cluster", f.Cluster}, {"action", f.Action}} {
		if c.val != "" {
			where = append(where, c.col+" = ?")
			args = append(args, c.val)
		}
	}
	if f.Owner != "" {
		where = append(where, "network IN (SELECT network FROM network_owners WHERE user_name = ?)")
		args = append(args, f.Owner)
	}
	if f.Refused {
		where = append(where, "allowed = 0")
	}
	if f.BeforeID > 0 {
		where = append(where, "id < ?")
		args = append(args, f.BeforeID)
	}
	limit := f.Limit
	if limit <= 0 {
		limit = 100
	}
	args = append(args, limit)
	rows, err := t.query(ctx, `SELECT `+auditColumns+` FROM audit WHERE `+strings.Join(where, " AND ")+` ORDER BY id DESC LIMIT ?`, args...)
	if err != nil {
		return nil, fmt.Errorf("read audit log: %w", err)
	}
	return scanAudit(rows)
}

const auditColumns = `id, at, actor, action, network, cluster, user_name, subject, allowed, reason, detail`

// scanAudit reads and closes rows of auditColumns.
func scanAudit(rows *sql.Rows) ([]idco.AuditEntry, error) {
	defer rows.Close()
	es := []idco.AuditEntry{}
	for rows.Next() {
		var e idco.AuditEntry
		var at int64
		var allowed int
		if err := rows.Scan(&e.ID, &at, &e.Actor, &e.Action, &e.Network, &e.Cluster, &e.User, &e.Subject, &allowed, &e.Reason, &e.Detail); err != nil {
			return nil, fmt.Errorf("read audit log: %w", err)
		}
		e.At, e.Allowed = fromNanos(at), allowed != 0
		es = append(es, e)
	}
	return es, rows.Err()
}
