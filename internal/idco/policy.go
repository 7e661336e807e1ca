package idco

import (
	"context"
	"errors"
	"fmt"
	"time"

	"switchboard/internal/token"
)

// decision is a Decision being made, or the error that stopped it.
type decision struct {
	Decision
	err error
}

func refuse(reason, detail string) decision {
	return decision{Decision: Decision{Reason: reason, Detail: detail}}
}

// verified is the outcome of checking a token's signature and claims
// before its decision queues for a transaction: ok when the token verified
// against the key its header names. Whether that key is still the user's
// and not revoked is for the transaction to check.
type verified struct {
	ok     bool
	claims token.Claims
}

// preverify checks the token with the key its header names, when a
// decision has loaded that key before; it needs no transaction and runs in
// the caller's goroutine, so signature checks run in parallel. Any failure
// leaves the whole check to decide.
func (s *Service) preverify(ctx context.Context, req AuthorizeRequest) verified {
	c, err := token.Verify(ctx, req.Token, signerSource{s.cache},
		token.Expect{Network: req.Network, Cluster: req.Cluster, Now: s.now()})
	if err != nil {
		return verified{}
	}
	return verified{ok: true, claims: c}
}

// signerSource offers the cache's signer for the key a token's header
// names, whoever the token's user is: the transaction checks that the key
// is the user's.
type signerSource struct{ c *policyCache }

func (signerSource) Keys(context.Context, string) ([]token.Key, error) { return nil, nil }

func (s signerSource) KeysFor(_ context.Context, _, keyID string) ([]token.Key, error) {
	if pub, ok := s.c.signer(keyID); ok {
		return []token.Key{{ID: keyID, Public: pub}}, nil
	}
	return nil, nil
}

// decide verifies the token against the IDCO's keys (unless pre says it
// verified and its key is still the user's and not revoked) and checks the
// network's policy in every cluster where it is registered. The claims are
// those parsed from the token (unverified when the decision is a refusal).
func (s *Service) decide(w *write, req AuthorizeRequest, pre verified) (decision, token.Claims) {
	if pre.ok {
		keys, err := s.cache.userKeys(w, pre.claims.User)
		if err != nil {
			return decision{err: err}, pre.claims
		}
		for _, k := range keys {
			if k.Fingerprint == pre.claims.KeyID && k.RevokedAt == nil {
				return s.admit(w, req, pre.claims), pre.claims
			}
		}
		// Revoked, or not the user's: the full check below says why.
	}
	ctx := w.ctx
	claims, err := token.Parse(req.Token)
	if err != nil {
		return refuse(string(reasonOr(err, token.ReasonMalformed)), err.Error()), claims
	}
	keys, err := s.cache.userKeys(w, claims.User)
	if err != nil {
		return decision{err: err}, claims
	}
	ks, kidKnown := signingKeys(keys, claims.KeyID)
	_, err = token.Verify(ctx, req.Token, token.StaticKeys{claims.User: ks},
		token.Expect{Network: req.Network, Cluster: req.Cluster, Now: w.now})
	if err != nil {
		r, ok := token.ReasonOf(err)
		if !ok {
			return decision{err: fmt.Errorf("verify token of user %q: %w", claims.User, err)}, claims
		}
		return refuse(string(r), err.Error()), claims
	}
	if !kidKnown {
		// Verify found some key of the user, but not the one the header
		// names: the access lists match on that name, so refuse.
		return refuse(string(token.ReasonMalformed), fmt.Sprintf(
			"token header names key %s, which is not a registered key of user %q: sign with \"switchboard token sign\", which sets it", claims.KeyID, claims.User)), claims
	}
	return s.admit(w, req, claims), claims
}

// admit checks, for a verified token, that the network is registered in
// the requesting cluster and that every cluster's policy lets the user in.
func (s *Service) admit(w *write, req AuthorizeRequest, claims token.Claims) decision {
	regs, err := s.cache.registrations(w, req.Network)
	if err != nil {
		return decision{err: err}
	}
	if _, ok := registrationOf(regs, req.Cluster); !ok {
		return refuse(ReasonNotRegistered, fmt.Sprintf(
			"network %q is not registered in cluster %q: the operator registers it when the ext-vnet Network exists", req.Network, req.Cluster))
	}
	has := func(user, network string) (bool, error) { return s.cache.hasPermission(w, user, network) }
	if reason, cluster, detail, err := policy(regs, claims.User, claims.KeyID, has); err != nil || reason != "" {
		d := refuse(reason, detail)
		d.Cluster, d.err = cluster, err
		return d
	}
	return decision{Decision: Decision{Allowed: true}}
}

func reasonOr(err error, def token.Reason) token.Reason {
	if r, ok := token.ReasonOf(err); ok {
		return r
	}
	return def
}

// signingKeys turns the user's registered keys into token keys. When the
// token's key ID names one of them, only that key is offered, so that a
// verified token is known to be signed by the key its header names.
func signingKeys(keys []cachedKey, kid string) ([]token.Key, bool) {
	var all []token.Key
	for _, k := range keys {
		if k.Fingerprint == kid {
			return []token.Key{k.tk}, true
		}
		all = append(all, k.tk)
	}
	return all, false
}

// policy checks every registration of a network for the user signing with
// key kid, asking has whether the user holds an IDCO permission where a
// cluster leaves the list open. It returns the first refusal: its reason,
// the refusing cluster and a detail sentence; an empty reason means allowed.
func policy(regs []Registration, user, kid string, has func(user, network string) (bool, error)) (reason, cluster, detail string, err error) {
	permitted, checked := false, false
	for _, r := range regs {
		if len(r.AccessList) > 0 {
			if !inAccessList(r.AccessList, user, kid) {
				return ReasonNotInAccessList, r.Cluster, fmt.Sprintf(
					"cluster %q's access list for network %q does not hold user %q with key %s: ask that cluster's network owner to add it",
					r.Cluster, r.Network, user, kid), nil
			}
			continue
		}
		if !checked {
			permitted, err = has(user, r.Network)
			if err != nil {
				return "", "", "", err
			}
			checked = true
		}
		if !permitted {
			return ReasonNoPermission, r.Cluster, fmt.Sprintf(
				"cluster %q leaves network %q open and user %q has no IDCO permission for it: ask the IDCO admin to grant it",
				r.Cluster, r.Network, user), nil
		}
	}
	return "", "", "", nil
}

func inAccessList(list []AccessEntry, user, kid string) bool {
	for _, e := range list {
		if e.User == user && e.Fingerprint == kid {
			return true
		}
	}
	return false
}

// nonceUsesShown bounds the count of earlier uses of a token's nonce that a
// decision's detail reports.
const nonceUsesShown = 100

// grantAuthorization stores the authorization an allowed decision makes,
// revoking an earlier one of the same pod, and notes nonce reuse.
func (s *Service) grantAuthorization(w *write, req AuthorizeRequest, c token.Claims, d *decision) error {
	rev, err := w.revision()
	if err != nil {
		return err
	}
	old, err := w.activeFor(PodRef{Cluster: req.Cluster, Network: req.Network, Namespace: req.Namespace, Pod: req.Pod})
	if err != nil {
		return err
	}
	for _, a := range old {
		if err := s.revoke(w, a, "Superseded", "the pod was authorized again"); err != nil {
			return err
		}
	}
	uses, err := w.nonceUses(c.User, c.Nonce, nonceUsesShown)
	if err != nil {
		return err
	}
	a := Authorization{ID: newID("az-"), Network: req.Network, Cluster: req.Cluster, Namespace: req.Namespace, Pod: req.Pod,
		User: c.User, KeyID: c.KeyID, Nonce: c.Nonce, CreatedAt: w.now, Expires: c.Expiry.UTC(), Revision: rev}
	if err := w.insert(a); err != nil {
		return err
	}
	w.usedNonce(c.User, c.Nonce)
	d.AuthorizationID, d.Expires = a.ID, a.Expires
	switch {
	case uses >= nonceUsesShown:
		d.Detail = fmt.Sprintf("token nonce %s was used before by %d or more authorizations of user %q", c.Nonce, uses, c.User)
	case uses > 0:
		d.Detail = fmt.Sprintf("token nonce %s was used before by %d authorization(s) of user %q", c.Nonce, uses, c.User)
	}
	return nil
}

// reevaluate re-checks every active authorization on the network against
// the current registrations and permissions and revokes those no longer
// allowed.
func (s *Service) reevaluate(w *write, network string) error {
	as, err := w.ActiveAuthorizations(w.ctx, ActiveFilter{Network: network})
	if err != nil || len(as) == 0 {
		return err
	}
	regs, err := w.Registrations(w.ctx, network)
	if err != nil {
		return err
	}
	has := func(user, network string) (bool, error) { return w.HasPermission(w.ctx, user, network) }
	for _, a := range as {
		reason, _, detail, err := policy(regs, a.User, a.KeyID, has)
		if err != nil {
			return err
		}
		if reason != "" {
			if err := s.revoke(w, a, reason, detail); err != nil {
				return err
			}
		}
	}
	return nil
}

// Release ends the cluster's authorization id, when its pod goes away. It
// is idempotent: an unknown or already ended authorization is success.
// An authorization of another cluster is reported as not found.
func (s *Service) Release(ctx context.Context, cluster, id string) error {
	if err := checkName("cluster", cluster); err != nil {
		return err
	}
	return s.update(ctx, func(w *write) error {
		a, err := w.Authorization(ctx, id)
		if err != nil {
			return ignoreNotFound(err)
		}
		if a.Cluster != cluster {
			return fmt.Errorf("authorization %q of cluster %q: %w", id, cluster, ErrNotFound)
		}
		return s.revoke(w, a, ReasonReleased, "the pod went away")
	})
}

// Expire revokes the authorizations whose token expired and returns how
// many it revoked.
func (s *Service) Expire(ctx context.Context) (int, error) {
	n := 0
	err := s.update(ctx, func(w *write) error {
		as, err := w.ActiveAuthorizations(ctx, ActiveFilter{ExpiresBefore: w.now})
		if err != nil {
			return err
		}
		for _, a := range as {
			if err := s.revoke(w, a, string(token.ReasonExpired), "the token expired at "+a.Expires.Format(time.RFC3339)); err != nil {
				return err
			}
		}
		n = len(as)
		return nil
	})
	return n, err
}

// Run expires authorizations every interval until ctx ends. Errors are
// logged and retried at the next tick.
func (s *Service) Run(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if _, err := s.Expire(ctx); err != nil && ctx.Err() == nil {
				s.log.Error("expire authorizations", "err", err)
			}
		}
	}
}

func ignoreNotFound(err error) error {
	if errors.Is(err, ErrNotFound) {
		return nil
	}
	return err
}
