package idco

import (
	"context"
	"errors"
	"fmt"

	"switchboard/internal/token"
)

// RegisterCluster records a cluster; it is idempotent.
func (s *Service) RegisterCluster(ctx context.Context, name string) error {
	if err := checkName("cluster", name); err != nil {
		return err
	}
	return s.update(ctx, func(w *write) error {
		if err := w.EnsureCluster(ctx, name, w.now); err != nil {
			return err
		}
		return w.audit(AuditEntry{Action: "register-cluster", Cluster: name, Allowed: true})
	})
}

// SetEdgeEndpoint records the WAN address:port of the cluster's edge and
// its WireGuard public key (empty: plain VXLAN), registering the cluster if
// needed. It is idempotent.
func (s *Service) SetEdgeEndpoint(ctx context.Context, cluster string, e EdgeEndpointRequest) error {
	endpoint := e.Endpoint
	if err := checkName("cluster", cluster); err != nil {
		return err
	}
	if err := checkEndpoint(endpoint); err != nil {
		return err
	}
	if err := checkPublicKey(e.PublicKey); err != nil {
		return err
	}
	return s.update(ctx, func(w *write) error {
		if err := w.EnsureCluster(ctx, cluster, w.now); err != nil {
			return err
		}
		old, err := w.Cluster(ctx, cluster)
		if err != nil || (old.EdgeEndpoint == endpoint && old.EdgePublicKey == e.PublicKey) {
			return err
		}
		if err := w.Tx.SetEdgeEndpoint(ctx, cluster, endpoint, e.PublicKey, w.now); err != nil {
			return err
		}
		if _, err := w.revision(); err != nil {
			return err
		}
		s.log.Info("edge endpoint set", "cluster", cluster, "endpoint", endpoint, "publicKey", e.PublicKey)
		return w.audit(AuditEntry{Action: "set-edge-endpoint", Cluster: cluster, Subject: endpoint, Allowed: true, Detail: keyNote(e.PublicKey)})
	})
}

// Cluster returns a registered cluster.
func (s *Service) Cluster(ctx context.Context, name string) (Cluster, error) {
	var c Cluster
	err := s.store.View(ctx, func(tx Tx) (err error) {
		c, err = tx.Cluster(ctx, name)
		return err
	})
	return c, err
}

// AddUser records a user; it is idempotent.
func (s *Service) AddUser(ctx context.Context, name string) error {
	if err := checkUser("user", name); err != nil {
		return err
	}
	return s.update(ctx, func(w *write) error {
		if err := w.EnsureUser(ctx, name, w.now); err != nil {
			return err
		}
		return w.audit(AuditEntry{Action: "add-user", User: name, Allowed: true})
	})
}

// AddKey records a PEM public key (PKIX, Ed25519 or P-256) of an existing
// user and returns its fingerprint. Adding the same key again is a no-op;
// adding another user's key fails with ErrConflict.
func (s *Service) AddKey(ctx context.Context, user string, pubPEM []byte) (string, error) {
	if err := checkUser("user", user); err != nil {
		return "", err
	}
	fp, err := fingerprintPEM(pubPEM)
	if err != nil {
		return "", invalid("public key of user %q: %v", user, err)
	}
	err = s.update(ctx, func(w *write) error {
		if err := w.policyChanged(); err != nil {
			return err
		}
		ok, err := w.UserExists(ctx, user)
		if err != nil {
			return err
		}
		if !ok {
			return fmt.Errorf("user %q: %w: add the user first", user, ErrNotFound)
		}
		if err := w.Tx.AddKey(ctx, Key{Fingerprint: fp, User: user, PEM: string(pubPEM), CreatedAt: w.now}); err != nil {
			return err
		}
		return w.audit(AuditEntry{Action: "add-key", User: user, Subject: fp, Allowed: true})
	})
	return fp, err
}

func fingerprintPEM(pubPEM []byte) (string, error) {
	pub, err := token.ParsePublicKeyPEM(pubPEM)
	if err != nil {
		return "", err
	}
	return token.Fingerprint(pub)
}

// Keys lists a user's keys, revoked ones included.
func (s *Service) Keys(ctx context.Context, user string) ([]Key, error) {
	var ks []Key
	err := s.store.View(ctx, func(tx Tx) (err error) {
		ks, err = tx.UserKeys(ctx, user)
		return err
	})
	return ks, err
}

// RevokeKey revokes a key by fingerprint and every active authorization
// made with it. Revoking a revoked key is a no-op.
func (s *Service) RevokeKey(ctx context.Context, fingerprint string) error {
	if fingerprint == "" {
		return invalid("key fingerprint is empty: give the SHA256:... fingerprint")
	}
	return s.update(ctx, func(w *write) error {
		if err := w.policyChanged(); err != nil {
			return err
		}
		k, err := w.Key(ctx, fingerprint)
		if err != nil {
			return err
		}
		if k.RevokedAt != nil {
			return nil
		}
		if err := w.Tx.RevokeKey(ctx, fingerprint, w.now); err != nil {
			return err
		}
		if err := w.audit(AuditEntry{Action: "revoke-key", User: k.User, Subject: fingerprint, Allowed: true}); err != nil {
			return err
		}
		as, err := w.ActiveAuthorizations(ctx, ActiveFilter{KeyID: fingerprint})
		if err != nil {
			return err
		}
		for _, a := range as {
			if err := s.revoke(w, a, string(token.ReasonRevokedKey), "key "+fingerprint+" was revoked"); err != nil {
				return err
			}
		}
		return nil
	})
}

// Grant lets a user join a network in clusters that leave its access list
// open. It is idempotent; the network need not be registered yet.
func (s *Service) Grant(ctx context.Context, user, network string) error {
	if err := errors.Join(checkUser("user", user), checkName("network", network)); err != nil {
		return err
	}
	return s.update(ctx, func(w *write) error {
		if err := w.policyChanged(); err != nil {
			return err
		}
		ok, err := w.UserExists(ctx, user)
		if err != nil {
			return err
		}
		if !ok {
			return fmt.Errorf("user %q: %w: add the user first", user, ErrNotFound)
		}
		if err := w.Tx.Grant(ctx, user, network, w.now); err != nil {
			return err
		}
		return w.audit(AuditEntry{Action: "grant", User: user, Network: network, Allowed: true})
	})
}

// RevokePermission takes a permission away and revokes the user's active
// authorizations on the network that depended on it. Revoking a missing
// permission is a no-op.
func (s *Service) RevokePermission(ctx context.Context, user, network string) error {
	if err := errors.Join(checkUser("user", user), checkName("network", network)); err != nil {
		return err
	}
	return s.update(ctx, func(w *write) error {
		if err := w.policyChanged(); err != nil {
			return err
		}
		had, err := w.Tx.RevokePermission(ctx, user, network)
		if err != nil || !had {
			return err
		}
		if err := w.audit(AuditEntry{Action: "revoke-permission", User: user, Network: network, Allowed: true}); err != nil {
			return err
		}
		return s.reevaluate(w, network)
	})
}

// Audit returns audit entries, newest first.
func (s *Service) Audit(ctx context.Context, f AuditFilter) ([]AuditEntry, error) {
	var es []AuditEntry
	err := s.store.View(ctx, func(tx Tx) (err error) {
		es, err = tx.Audit(ctx, f)
		return err
	})
	return es, err
}

// revoke ends an authorization, audits it and logs it.
func (s *Service) revoke(w *write, a Authorization, reason, detail string) error {
	rev, err := w.revision()
	if err != nil {
		return err
	}
	ok, err := w.end(a.ID, reason, w.now, rev)
	if err != nil || !ok {
		return err
	}
	s.log.Info("authorization revoked", "authorization", a.ID, "network", a.Network, "cluster", a.Cluster,
		"pod", a.Namespace+"/"+a.Pod, "user", a.User, "reason", reason)
	return w.audit(AuditEntry{Action: "revoke-authorization", Network: a.Network, Cluster: a.Cluster, User: a.User,
		Subject: a.ID + " " + a.Namespace + "/" + a.Pod, Allowed: false, Reason: reason, Detail: detail})
}
