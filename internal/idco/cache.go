package idco

import (
	"crypto"
	"sync"

	"switchboard/internal/token"
)

// policyCache keeps in memory what authorization decisions read of the
// policy: users' keys (parsed), networks' registrations with their access
// lists, and permissions. Its entries hold for one policy generation (see
// Tx.PolicyGeneration): every decision transaction reads the generation
// first and drops every entry when it moved, so a key revoked or an access
// list changed by any writer, in this process or another IDCO on the same
// database, is honoured by the next decision. The entries are read and
// filled only by the decision committer, which holds Service.mu.
//
// signers is different: it maps a key's fingerprint to its public key,
// which never changes (the fingerprint is a hash of the key), so it is
// never dropped and is read without Service.mu, to check signatures before
// a decision queues for its transaction. Whether the key still belongs to
// the user and is not revoked is checked in the transaction.
type policyCache struct {
	gen   int64 // -1: no entries
	keys  map[string][]cachedKey
	regs  map[string][]Registration
	perms map[permission]bool

	signersMu sync.RWMutex
	signers   map[string]crypto.PublicKey
}

type cachedKey struct {
	Key
	tk token.Key // parsed, Revoked set from RevokedAt
}

type permission struct{ user, network string }

func newPolicyCache() *policyCache {
	c := &policyCache{signers: map[string]crypto.PublicKey{}}
	c.drop()
	return c
}

// drop forgets every entry but the signers.
func (c *policyCache) drop() {
	c.gen = -1
	c.keys = map[string][]cachedKey{}
	c.regs = map[string][]Registration{}
	c.perms = map[permission]bool{}
}

// sync reads the policy generation in w's transaction and drops the
// entries if they were read at another.
func (c *policyCache) sync(w *write) error {
	gen, err := w.PolicyGeneration(w.ctx)
	if err != nil {
		return err
	}
	if gen != c.gen {
		c.drop()
		c.gen = gen
	}
	return nil
}

// userKeys returns the user's keys, revoked ones included.
func (c *policyCache) userKeys(w *write, user string) ([]cachedKey, error) {
	if ks, ok := c.keys[user]; ok {
		return ks, nil
	}
	keys, err := w.UserKeys(w.ctx, user)
	if err != nil {
		return nil, err
	}
	ks := make([]cachedKey, 0, len(keys))
	c.signersMu.Lock()
	for _, k := range keys {
		pub, err := token.ParsePublicKeyPEM([]byte(k.PEM))
		if err != nil {
			continue // stored keys were parsed on the way in
		}
		ks = append(ks, cachedKey{Key: k, tk: token.Key{ID: k.Fingerprint, Public: pub, Revoked: k.RevokedAt != nil}})
		c.signers[k.Fingerprint] = pub
	}
	c.signersMu.Unlock()
	c.keys[user] = ks
	return ks, nil
}

func (c *policyCache) registrations(w *write, network string) ([]Registration, error) {
	if regs, ok := c.regs[network]; ok {
		return regs, nil
	}
	regs, err := w.Registrations(w.ctx, network)
	if err != nil {
		return nil, err
	}
	c.regs[network] = regs
	return regs, nil
}

func (c *policyCache) hasPermission(w *write, user, network string) (bool, error) {
	p := permission{user, network}
	if ok, found := c.perms[p]; found {
		return ok, nil
	}
	ok, err := w.HasPermission(w.ctx, user, network)
	if err != nil {
		return false, err
	}
	c.perms[p] = ok
	return ok, nil
}

// signer returns the public key with the fingerprint, if a decision has
// loaded it before. It is safe for concurrent use.
func (c *policyCache) signer(fingerprint string) (crypto.PublicKey, bool) {
	c.signersMu.RLock()
	defer c.signersMu.RUnlock()
	pub, ok := c.signers[fingerprint]
	return pub, ok
}
