package idco

import (
	"context"
	"errors"
	"fmt"
)

// ReasonEnded is the reason of an authorization that a network's owner or
// an admin ended (in the portal or with the admin CLI).
const ReasonEnded = "Ended"

// AddOwner makes a user an owner of a network: the user may then see and
// manage the network in the portal. It is idempotent; the network need not
// be registered yet, but the user must exist.
func (s *Service) AddOwner(ctx context.Context, user, network string) error {
	if err := errors.Join(checkUser("user", user), checkName("network", network)); err != nil {
		return err
	}
	return s.update(ctx, func(w *write) error {
		ok, err := w.UserExists(ctx, user)
		if err != nil {
			return err
		}
		if !ok {
			return fmt.Errorf("user %q: %w: add the user first", user, ErrNotFound)
		}
		if err := w.Tx.AddOwner(ctx, user, network, w.now); err != nil {
			return err
		}
		return w.audit(AuditEntry{Action: "add-owner", User: user, Network: network, Allowed: true})
	})
}

// RemoveOwner takes a network's ownership from a user; removing a missing
// owner is a no-op.
func (s *Service) RemoveOwner(ctx context.Context, user, network string) error {
	if err := errors.Join(checkUser("user", user), checkName("network", network)); err != nil {
		return err
	}
	return s.update(ctx, func(w *write) error {
		had, err := w.Tx.RemoveOwner(ctx, user, network)
		if err != nil || !had {
			return err
		}
		return w.audit(AuditEntry{Action: "remove-owner", User: user, Network: network, Allowed: true})
	})
}

// OwnedNetworks lists the names of the networks user owns, registered or
// not yet.
func (s *Service) OwnedNetworks(ctx context.Context, user string) ([]string, error) {
	var ns []string
	err := s.store.View(ctx, func(tx Tx) (err error) {
		ns, err = tx.OwnedNetworks(ctx, user)
		return err
	})
	return ns, err
}

// Owns reports whether user owns network.
func (s *Service) Owns(ctx context.Context, user, network string) (bool, error) {
	var owns bool
	err := s.store.View(ctx, func(tx Tx) error {
		owners, err := tx.NetworkOwners(ctx, network)
		for _, o := range owners {
			owns = owns || o == user
		}
		return err
	})
	return owns, err
}

// EndAuthorization ends an active authorization on behalf of the network's
// owner or an admin (the actor in ctx), with reason ReasonEnded and detail
// saying why: the cluster's operator then takes the pod off the network.
// Ending an ended authorization is a no-op; a missing one is ErrNotFound.
func (s *Service) EndAuthorization(ctx context.Context, id, detail string) error {
	if id == "" {
		return invalid("authorization id is empty: give the id the portal or the audit log shows")
	}
	return s.update(ctx, func(w *write) error {
		a, err := w.Authorization(ctx, id)
		if err != nil {
			return err
		}
		if a.RevokedAt != nil {
			return nil
		}
		return s.revoke(w, a, ReasonEnded, detail)
	})
}

// AuditEvent appends one entry to the audit log, stamped with the actor in
// ctx and the current time: for the portal's sign-ins, which change no
// state of the Service.
func (s *Service) AuditEvent(ctx context.Context, e AuditEntry) error {
	return s.update(ctx, func(w *write) error { return w.audit(e) })
}
