package token

import (
	"context"
	"crypto"
	"errors"
	"fmt"
	"slices"
	"time"
)

// Key is one public key of a user, as an access list or the IDCO holds it.
// ID is informational (normally the key's Fingerprint); Verify tries every
// key of the user, so a wrong or empty ID never makes a valid token fail.
type Key struct {
	ID      string
	Public  crypto.PublicKey // ed25519.PublicKey or *ecdsa.PublicKey on P-256
	Revoked bool
}

// NewKey returns a Key for pub with its Fingerprint as ID, or an error if pub
// is not a supported public key.
func NewKey(pub crypto.PublicKey) (Key, error) {
	fp, err := Fingerprint(pub)
	if err != nil {
		return Key{}, err
	}
	return Key{ID: fp, Public: pub}, nil
}

// KeySource looks up the public keys of a user. It returns no keys and no
// error for a user it does not know; an error means the lookup itself failed
// (Verify then reports it wrapped, never as a Reason). Implementations must
// be safe for concurrent use and must not expect the caller to modify the
// returned slice.
type KeySource interface {
	Keys(ctx context.Context, user string) ([]Key, error)
}

// KeyIDSource is a KeySource that can offer only the key a token's header
// names, so that a token verifies only with that key. Verify calls KeysFor
// instead of Keys when its KeySource implements it; the rules for Keys
// apply.
type KeyIDSource interface {
	KeySource
	KeysFor(ctx context.Context, user, keyID string) ([]Key, error)
}

// StaticKeys is a KeySource backed by a map from user to keys: for tests and
// for a cluster's local access list. It is safe for concurrent use as long as
// nobody writes to the map.
type StaticKeys map[string][]Key

// Keys returns a copy of the user's keys.
func (s StaticKeys) Keys(_ context.Context, user string) ([]Key, error) {
	return slices.Clone(s[user]), nil
}

// DefaultLeeway is the clock skew Verify tolerates when Expect.Leeway is zero.
const DefaultLeeway = 30 * time.Second

// Expect is what the verifier requires of a token besides a good signature.
type Expect struct {
	Network string        // required: the network the token must be for
	Cluster string        // the cluster checking the token; empty skips the cluster check
	Now     time.Time     // zero means time.Now()
	Leeway  time.Duration // clock skew allowed; zero means DefaultLeeway, negative means none
}

// Verify checks raw and returns its claims if it admits a user to
// want.Network. A rejected token gives an *Error whose Reason is, in the
// order of checking: Malformed; UnknownUser (keys has no key for the
// token's user); Forged (no key of the user verifies the signature) or
// RevokedKey (only revoked keys do); Expired (exp <= now-leeway);
// NotYetValid (nbf or iat > now+leeway); WrongNetwork; WrongCluster (the
// token lists clusters and want.Cluster is not one of them). An error from
// keys is returned wrapped and has no Reason (see ReasonOf). Verify does not
// remember nonces: a caller that must refuse replays records Claims.Nonce.
// ES256 signatures are malleable, so key replay checks on the nonce, never on
// raw. Verify is safe for concurrent use if keys is.
func Verify(ctx context.Context, raw string, keys KeySource, want Expect) (Claims, error) {
	if want.Network == "" {
		return Claims{}, errors.New("verify token: Expect.Network is empty: set the network the token must admit to")
	}
	p, err := parse(raw)
	if err != nil {
		return Claims{}, err
	}
	c := p.claims
	var ks []Key
	if s, ok := keys.(KeyIDSource); ok {
		ks, err = s.KeysFor(ctx, c.User, c.KeyID)
	} else {
		ks, err = keys.Keys(ctx, c.User)
	}
	if err != nil {
		return Claims{}, &keySourceError{user: c.User, err: err}
	}
	if len(ks) == 0 {
		return Claims{}, reject(ReasonUnknownUser, fmt.Sprintf(
			"user %q has no public key on the access list: add the user's .pub file (from \"switchboard keys new\") to the network's access list, or check the user name", c.User))
	}
	if err := checkSignature(p, ks); err != nil {
		return Claims{}, err
	}
	if err := checkClaims(c, want); err != nil {
		return Claims{}, err
	}
	return c, nil
}

func checkSignature(p *parsed, ks []Key) error {
	c := p.claims
	// A header naming one of the user's keys with the other algorithm is
	// inconsistent rather than forged: say so, it is easier to debug.
	for _, k := range ks {
		if k.Public == nil {
			continue
		}
		if fp, err := Fingerprint(k.Public); err == nil && (fp == c.KeyID || k.ID == c.KeyID) {
			if a, _ := jwsAlg(k.Public); a != p.alg {
				return reject(ReasonMalformed, fmt.Sprintf(
					"malformed token: header alg %s does not match key %s of user %q, which is %s: sign a new token with \"switchboard token sign\"", p.alg, c.KeyID, c.User, a))
			}
		}
	}
	var revoked *Key
	for i, k := range ks {
		if k.Public == nil || !verifyJWS(p.alg, k.Public, p.input, p.sig) {
			continue
		}
		if !k.Revoked {
			return nil
		}
		revoked = &ks[i]
	}
	if revoked != nil {
		id := revoked.ID
		if id == "" {
			id = c.KeyID
		}
		return reject(ReasonRevokedKey, fmt.Sprintf(
			"token is signed with revoked key %s of user %q: make a new key with \"switchboard keys new\", register its .pub and sign again", id, c.User))
	}
	return reject(ReasonForged, fmt.Sprintf(
		"token signature (key %s) matches no public key of user %q: the token was altered or signed with an unregistered key; sign again with your registered key", c.KeyID, c.User))
}

func checkClaims(c Claims, want Expect) error {
	now := want.Now
	if now.IsZero() {
		now = time.Now()
	}
	leeway := want.Leeway
	switch {
	case leeway == 0:
		leeway = DefaultLeeway
	case leeway < 0:
		leeway = 0
	}
	if !c.Expiry.After(now.Add(-leeway)) {
		return reject(ReasonExpired, fmt.Sprintf(
			"token expired at %s: sign a new one with \"switchboard token sign\"", c.Expiry.Format(time.RFC3339)))
	}
	if c.NotBefore.After(now.Add(leeway)) {
		return reject(ReasonNotYetValid, fmt.Sprintf(
			"token is not valid before %s (now %s): wait, or sign one without --not-before", c.NotBefore.Format(time.RFC3339), now.UTC().Format(time.RFC3339)))
	}
	if c.IssuedAt.After(now.Add(leeway)) {
		return reject(ReasonNotYetValid, fmt.Sprintf(
			"token was issued in the future, at %s (now %s): check the clock of the machine that signed it", c.IssuedAt.Format(time.RFC3339), now.UTC().Format(time.RFC3339)))
	}
	if c.Network != want.Network {
		return reject(ReasonWrongNetwork, fmt.Sprintf(
			"token is for network %q, not %q: sign one with --network %s", c.Network, want.Network, want.Network))
	}
	if want.Cluster != "" && len(c.Clusters) > 0 && !slices.Contains(c.Clusters, want.Cluster) {
		return reject(ReasonWrongCluster, fmt.Sprintf(
			"token is limited to clusters %q, not %q: sign one whose --clusters includes %s, or without --clusters", c.Clusters, want.Cluster, want.Cluster))
	}
	return nil
}
