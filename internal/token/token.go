// Package token makes and checks Switchboard's signed join tokens.
//
// A user who wants a pod on an inter-cluster network signs a token on their
// own machine with their private key (Sign), stores it in a Secret next to
// the pod (see the Secret* constants), and the operator and the IDCO check it
// against the public keys on the network's access list (Verify).
//
// A token is a JWS compact serialization (RFC 7515) without padding:
//
//	base64url(header) "." base64url(claims) "." base64url(signature)
//
// with header {"alg":"EdDSA"|"ES256","typ":"switchboard-token","kid":FINGERPRINT}
// and claims {"net","sub","iat","nbf","exp","jti","clusters"}; ES256
// signatures are the 64-byte r||s form of RFC 7518 §3.4.
//
// Everything in this package is safe for concurrent use.
package token

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/asn1"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"slices"
	"time"
)

// Type is the JWS "typ" of every Switchboard token; Parse rejects any other.
const Type = "switchboard-token"

// MaxSize is the longest token Parse accepts, in bytes.
const MaxSize = 8 << 10

// Claims is what a token says. Times have one-second resolution.
type Claims struct {
	Network   string    // "net": the network the token admits to
	User      string    // "sub": who signed it; selects the keys to check
	IssuedAt  time.Time // "iat"
	NotBefore time.Time // "nbf"; zero means valid from IssuedAt
	Expiry    time.Time // "exp"
	Nonce     string    // "jti": random, unique per token
	Clusters  []string  // "clusters": where the token may be used; empty means anywhere
	KeyID     string    // header "kid": Fingerprint of the signing key
}

type header struct {
	Alg string `json:"alg"`
	Typ string `json:"typ"`
	Kid string `json:"kid"`
}

type wireClaims struct {
	Net      string   `json:"net"`
	Sub      string   `json:"sub"`
	Iat      int64    `json:"iat"`
	Nbf      int64    `json:"nbf,omitempty"`
	Exp      int64    `json:"exp"`
	Jti      string   `json:"jti"`
	Clusters []string `json:"clusters,omitempty"`
}

var b64 = base64.RawURLEncoding.Strict()

// Sign returns c signed with key as a compact JWS. key must be an Ed25519 key
// or an ECDSA key on P-256 (any crypto.Signer with such a public key, so
// hardware keys work too). Sign fills an empty Nonce with 16 random bytes, a
// zero IssuedAt with the current time and an empty KeyID with the key's
// Fingerprint; a KeyID that is not the key's fingerprint is an error.
func Sign(c Claims, key crypto.Signer) (string, error) {
	if key == nil {
		return "", errors.New("sign token: no key: pass an Ed25519 or ECDSA P-256 private key")
	}
	pub := key.Public()
	alg, err := jwsAlg(pub)
	if err != nil {
		return "", fmt.Errorf("sign token: %w", err)
	}
	fp, err := Fingerprint(pub)
	if err != nil {
		return "", fmt.Errorf("sign token: %w", err)
	}
	switch c.KeyID {
	case "":
		c.KeyID = fp
	case fp:
	default:
		return "", fmt.Errorf("sign token: KeyID %q is not the signing key's fingerprint %q: leave KeyID empty", c.KeyID, fp)
	}
	if c.IssuedAt.IsZero() {
		c.IssuedAt = time.Now()
	}
	if c.Nonce == "" {
		n := make([]byte, 16)
		if _, err := rand.Read(n); err != nil {
			return "", fmt.Errorf("sign token: make nonce: %w", err)
		}
		c.Nonce = b64.EncodeToString(n)
	}
	w := wireClaims{Net: c.Network, Sub: c.User, Iat: c.IssuedAt.Unix(), Exp: c.Expiry.Unix(), Jti: c.Nonce, Clusters: c.Clusters}
	if !c.NotBefore.IsZero() {
		w.Nbf = c.NotBefore.Unix()
	}
	if c.Expiry.IsZero() {
		return "", errors.New("sign token: Expiry is zero: set when the token stops being valid")
	}
	if err := w.check(); err != nil {
		return "", fmt.Errorf("sign token: %w", err)
	}
	hb, err := json.Marshal(header{Alg: alg, Typ: Type, Kid: c.KeyID})
	if err != nil {
		return "", fmt.Errorf("sign token: encode header: %w", err)
	}
	cb, err := json.Marshal(w)
	if err != nil {
		return "", fmt.Errorf("sign token: encode claims: %w", err)
	}
	input := b64.EncodeToString(hb) + "." + b64.EncodeToString(cb)
	sig, err := signJWS(alg, key, []byte(input))
	if err != nil {
		return "", fmt.Errorf("sign token: %w", err)
	}
	if len(input)+1+b64.EncodedLen(len(sig)) > MaxSize {
		return "", fmt.Errorf("sign token: token would exceed %d bytes: name fewer clusters or shorter names", MaxSize)
	}
	return input + "." + b64.EncodeToString(sig), nil
}

// check holds the rules for claims that both Sign and Parse enforce.
func (w *wireClaims) check() error {
	switch {
	case w.Net == "":
		return errors.New("network (net) is empty: name the network the token is for")
	case w.Sub == "":
		return errors.New("user (sub) is empty: name the user whose key signs the token")
	case w.Jti == "":
		return errors.New("nonce (jti) is empty")
	case w.Iat <= 0:
		return fmt.Errorf("issued-at (iat) %d is not a positive unix time", w.Iat)
	case w.Nbf < 0:
		return fmt.Errorf("not-before (nbf) %d is negative", w.Nbf)
	case w.Exp <= w.Iat:
		return fmt.Errorf("expiry (exp) %s is not after issued-at (iat) %s: use a positive lifetime", unixString(w.Exp), unixString(w.Iat))
	case w.Nbf != 0 && w.Nbf >= w.Exp:
		return fmt.Errorf("not-before (nbf) %s is not before expiry (exp) %s: extend the lifetime", unixString(w.Nbf), unixString(w.Exp))
	case slices.Contains(w.Clusters, ""):
		return errors.New("clusters has an empty name: list cluster names, or none to allow any cluster")
	}
	return nil
}

func unixString(t int64) string { return time.Unix(t, 0).UTC().Format(time.RFC3339) }

func signJWS(alg string, key crypto.Signer, input []byte) ([]byte, error) {
	if alg == jwsEdDSA {
		sig, err := key.Sign(rand.Reader, input, crypto.Hash(0))
		if err != nil {
			return nil, fmt.Errorf("sign with Ed25519 key: %w", err)
		}
		return sig, nil
	}
	digest := sha256.Sum256(input)
	der, err := key.Sign(rand.Reader, digest[:], crypto.SHA256)
	if err != nil {
		return nil, fmt.Errorf("sign with ECDSA key: %w", err)
	}
	var rs struct{ R, S *big.Int }
	if rest, err := asn1.Unmarshal(der, &rs); err != nil || len(rest) != 0 || rs.R.Sign() <= 0 || rs.S.Sign() <= 0 {
		return nil, fmt.Errorf("ECDSA signer returned a bad ASN.1 signature (%v)", err)
	}
	sig := make([]byte, 64)
	rs.R.FillBytes(sig[:32])
	rs.S.FillBytes(sig[32:])
	return sig, nil
}

// verifyJWS reports whether sig is a valid signature of input by pub under
// alg. A key of the wrong type for alg never verifies.
func verifyJWS(alg string, pub crypto.PublicKey, input, sig []byte) bool {
	switch k := pub.(type) {
	case ed25519.PublicKey:
		return alg == jwsEdDSA && len(k) == ed25519.PublicKeySize && ed25519.Verify(k, input, sig)
	case *ecdsa.PublicKey:
		if alg != jwsES256 || len(sig) != 64 {
			return false
		}
		if a, err := jwsAlg(k); err != nil || a != jwsES256 {
			return false
		}
		der, err := asn1.Marshal(struct{ R, S *big.Int }{new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:])})
		if err != nil {
			return false
		}
		digest := sha256.Sum256(input)
		return ecdsa.VerifyASN1(k, digest[:], der)
	}
	return false
}
