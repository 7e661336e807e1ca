package idco

import (
	"context"
	"slices"
	"strings"
	"time"
)

// Page sizes of the listing queries.
const (
	DefaultPageSize = 50
	MaxPageSize     = 500
)

// AuthorizationQuery selects one page of authorizations, newest first
// (by CreatedAt, then ID): those older than the cursor After when it is
// set, at most Limit (DefaultPageSize when zero, at most MaxPageSize).
type AuthorizationQuery struct {
	// Owner, when set, keeps the authorizations of networks the user owns.
	Owner   string
	Network string
	// Ended selects ended authorizations (revoked, released, expired)
	// instead of active ones.
	Ended bool
	After *AuthorizationCursor
	Limit int
}

// AuthorizationCursor is where a page of authorizations stops: the next
// page starts after it.
type AuthorizationCursor struct {
	CreatedAt time.Time
	ID        string
}

// CursorOf returns the cursor just after a.
func CursorOf(a Authorization) *AuthorizationCursor {
	return &AuthorizationCursor{CreatedAt: a.CreatedAt, ID: a.ID}
}

func pageSize(n int) int {
	switch {
	case n <= 0:
		return DefaultPageSize
	case n > MaxPageSize:
		return MaxPageSize
	}
	return n
}

// AuthorizationPage lists one page of authorizations (see
// AuthorizationQuery). It reads in one transaction and is safe for
// concurrent use.
//
// An owner's page (q.Owner set, no q.Network) of up to maxMergedNetworks
// networks is read a network at a time, each in index order, and merged:
// one query across the networks would sort every matching row to find the
// newest page.
func (s *Service) AuthorizationPage(ctx context.Context, q AuthorizationQuery) ([]Authorization, error) {
	q.Limit = pageSize(q.Limit)
	var as []Authorization
	err := s.store.View(ctx, func(tx Tx) error {
		if q.Owner == "" || q.Network != "" {
			var err error
			as, err = tx.AuthorizationPage(ctx, q)
			return err
		}
		ns, err := tx.Networks(ctx, q.Owner)
		if err != nil || len(ns) > maxMergedNetworks {
			if err == nil {
				as, err = tx.AuthorizationPage(ctx, q)
			}
			return err
		}
		as = []Authorization{}
		for _, n := range ns {
			one := q
			one.Network = n.Name
			got, err := tx.AuthorizationPage(ctx, one)
			if err != nil {
				return err
			}
			as = append(as, got...)
		}
		slices.SortFunc(as, newestFirst)
		as = as[:min(len(as), q.Limit)]
		return nil
	})
	return as, err
}

// maxMergedNetworks is how many networks an owner's page reads one by one
// before it asks the store for all of them in one sorted query.
const maxMergedNetworks = 32

// newestFirst orders authorizations as pages list them: by CreatedAt,
// then ID, descending.
func newestFirst(a, b Authorization) int {
	if c := b.CreatedAt.Compare(a.CreatedAt); c != 0 {
		return c
	}
	return strings.Compare(b.ID, a.ID)
}

// Authorization returns one authorization, active or ended.
func (s *Service) Authorization(ctx context.Context, id string) (Authorization, error) {
	var a Authorization
	err := s.store.View(ctx, func(tx Tx) (err error) {
		a, err = tx.Authorization(ctx, id)
		return err
	})
	return a, err
}

// NetworkView is an inter-cluster network as the portal shows it: its
// registrations (one per cluster, with the access lists), owners and the
// users the IDCO's permissions let in where a list is left open.
type NetworkView struct {
	Network       Network
	Registrations []Registration
	Owners        []string
	Permitted     []string
}

// Networks lists the inter-cluster networks by name: all of them, or, with
// owner set, those the user owns.
func (s *Service) Networks(ctx context.Context, owner string) ([]Network, error) {
	var ns []Network
	err := s.store.View(ctx, func(tx Tx) (err error) {
		ns, err = tx.Networks(ctx, owner)
		return err
	})
	return ns, err
}

// NetworkView reads one network with its registrations, owners and
// permissions in one transaction.
func (s *Service) NetworkView(ctx context.Context, name string) (NetworkView, error) {
	var v NetworkView
	err := s.store.View(ctx, func(tx Tx) (err error) {
		if v.Network, err = tx.Network(ctx, name); err != nil {
			return err
		}
		if v.Registrations, err = tx.Registrations(ctx, name); err != nil {
			return err
		}
		if v.Owners, err = tx.NetworkOwners(ctx, name); err != nil {
			return err
		}
		v.Permitted, err = tx.Permitted(ctx, name)
		return err
	})
	return v, err
}

// Users lists the user names, sorted.
func (s *Service) Users(ctx context.Context) ([]string, error) {
	var us []string
	err := s.store.View(ctx, func(tx Tx) (err error) {
		us, err = tx.Users(ctx)
		return err
	})
	return us, err
}

// Key returns a key by fingerprint, revoked or not.
func (s *Service) Key(ctx context.Context, fingerprint string) (Key, error) {
	var k Key
	err := s.store.View(ctx, func(tx Tx) (err error) {
		k, err = tx.Key(ctx, fingerprint)
		return err
	})
	return k, err
}
