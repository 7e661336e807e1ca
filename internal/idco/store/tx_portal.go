package store

import (
	"context"
	"fmt"
	"strings"
	"time"

	"switchboard/internal/idco"
)

// The portal's reads and network ownership (migration 0005).

func (t *tx) AddOwner(ctx context.Context, user, network string, at time.Time) error {
	_, err := t.exec(ctx, `INSERT INTO network_owners (network, user_name, added_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING`,
		network, user, nanos(at))
	if err != nil {
		return fmt.Errorf("add owner %q of network %q: %w", user, network, err)
	}
	return nil
}

func (t *tx) RemoveOwner(ctx context.Context, user, network string) (bool, error) {
	res, err := t.exec(ctx, `DELETE FROM network_owners WHERE network = ? AND user_name = ?`, network, user)
	if err != nil {
		return false, fmt.Errorf("remove owner %q of network %q: %w", user, network, err)
	}
	n, _ := res.RowsAffected()
	return n > 0, nil
}

func (t *tx) NetworkOwners(ctx context.Context, network string) ([]string, error) {
	return t.names(ctx, "list owners of network "+network, `SELECT user_name FROM network_owners WHERE network = ? ORDER BY user_name`, network)
}

func (t *tx) OwnedNetworks(ctx context.Context, user string) ([]string, error) {
	return t.names(ctx, "list networks owned by "+user, `SELECT network FROM network_owners WHERE user_name = ? ORDER BY network`, user)
}

func (t *tx) Permitted(ctx context.Context, network string) ([]string, error) {
	return t.names(ctx, "list permissions on network "+network, `SELECT user_name FROM permissions WHERE network = ? ORDER BY user_name`, network)
}

func (t *tx) Users(ctx context.Context) ([]string, error) {
	return t.names(ctx, "list users", `SELECT name FROM users ORDER BY name`)
}

// names runs a query of one text column.
func (t *tx) names(ctx context.Context, what, q string, args ...any) ([]string, error) {
	rows, err := t.query(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			return nil, fmt.Errorf("%s: %w", what, err)
		}
		out = append(out, n)
	}
	return out, rows.Err()
}

func (t *tx) Networks(ctx context.Context, owner string) ([]idco.Network, error) {
	q := `SELECT name, vni, created_at FROM networks ORDER BY name`
	var args []any
	if owner != "" {
		q = `SELECT name, vni, created_at FROM networks WHERE name IN (SELECT network FROM network_owners WHERE user_name = ?) ORDER BY name`
		args = append(args, owner)
	}
	rows, err := t.query(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("list networks: %w", err)
	}
	defer rows.Close()
	var ns []idco.Network
	for rows.Next() {
		var n idco.Network
		var vni, created int64
		if err := rows.Scan(&n.Name, &vni, &created); err != nil {
			return nil, fmt.Errorf("list networks: %w", err)
		}
		n.VNI, n.CreatedAt = uint32(vni), fromNanos(created)
		ns = append(ns, n)
	}
	return ns, rows.Err()
}

// AuthorizationPage reads a page by keyset (created_at, id) descending, so
// that a page deep in 10,000 rows costs what the first one does.
func (t *tx) AuthorizationPage(ctx context.Context, q idco.AuthorizationQuery) ([]idco.Authorization, error) {
	where := []string{"revoked_at IS NULL"}
	if q.Ended {
		where[0] = "revoked_at IS NOT NULL"
	}
	var args []any
	if q.Owner != "" {
		where = append(where, "network IN (SELECT network FROM network_owners WHERE user_name = ?)")
		args = append(args, q.Owner)
	}
	if q.Network != "" {
		where = append(where, "network = ?")
		args = append(args, q.Network)
	}
	if q.After != nil {
		c := nanos(q.After.CreatedAt)
		where = append(where, "(created_at < ? OR (created_at = ? AND id < ?))")
		args = append(args, c, c, q.After.ID)
	}
	args = append(args, q.Limit)
	return t.authzs(ctx, `SELECT `+authzColumns+` FROM authorizations WHERE `+strings.Join(where, " AND ")+
		` ORDER BY created_at DESC, id DESC LIMIT ?`, args...)
}
