package token

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
)

// Algorithm names a kind of signing key. The values double as the CLI's
// --alg values.
type Algorithm string

// The supported key algorithms. The zero Algorithm means AlgEd25519.
const (
	AlgEd25519   Algorithm = "ed25519"    // signs as JWS "EdDSA"
	AlgECDSAP256 Algorithm = "ecdsa-p256" // signs as JWS "ES256"
)

// PEM block types: PKCS#8 private keys and PKIX public keys.
const (
	pemPrivate = "PRIVATE KEY"
	pemPublic  = "PUBLIC KEY"
)

// GenerateKey makes a new private key from crypto/rand. The returned Signer is
// an ed25519.PrivateKey or an *ecdsa.PrivateKey on P-256, owned by the caller.
func GenerateKey(alg Algorithm) (crypto.Signer, error) {
	switch alg {
	case "", AlgEd25519:
		_, priv, err := ed25519.GenerateKey(rand.Reader)
		return priv, err
	case AlgECDSAP256:
		return ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	}
	return nil, fmt.Errorf("unknown key algorithm %q: use %q (default) or %q", alg, AlgEd25519, AlgECDSAP256)
}

// MarshalPrivateKeyPEM encodes a supported private key as a PKCS#8 "PRIVATE
// KEY" PEM block.
func MarshalPrivateKeyPEM(key crypto.Signer) ([]byte, error) {
	if _, err := jwsAlg(key.Public()); err != nil {
		return nil, err
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, fmt.Errorf("encode private key as PKCS#8: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: pemPrivate, Bytes: der}), nil
}

// ParsePrivateKeyPEM decodes the first PEM block of data, which must be a
// PKCS#8 "PRIVATE KEY" holding an Ed25519 or P-256 key.
func ParsePrivateKeyPEM(data []byte) (crypto.Signer, error) {
	der, err := pemBlock(data, pemPrivate)
	if err != nil {
		return nil, err
	}
	k, err := x509.ParsePKCS8PrivateKey(der)
	if err != nil {
		return nil, fmt.Errorf("parse PKCS#8 private key: %w", err)
	}
	signer, ok := k.(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("private key of type %T cannot sign: use an Ed25519 or ECDSA P-256 key", k)
	}
	if _, err := jwsAlg(signer.Public()); err != nil {
		return nil, err
	}
	return signer, nil
}

// MarshalPublicKeyPEM encodes a supported public key as a PKIX "PUBLIC KEY"
// PEM block.
func MarshalPublicKeyPEM(pub crypto.PublicKey) ([]byte, error) {
	der, err := publicDER(pub)
	if err != nil {
		return nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: pemPublic, Bytes: der}), nil
}

// ParsePublicKeyPEM decodes the first PEM block of data, which must be a PKIX
// "PUBLIC KEY" holding an Ed25519 or P-256 key. RSA and other curves are
// rejected.
func ParsePublicKeyPEM(data []byte) (crypto.PublicKey, error) {
	der, err := pemBlock(data, pemPublic)
	if err != nil {
		return nil, err
	}
	pub, err := x509.ParsePKIXPublicKey(der)
	if err != nil {
		return nil, fmt.Errorf("parse PKIX public key: %w", err)
	}
	if _, err := jwsAlg(pub); err != nil {
		return nil, err
	}
	return pub, nil
}

// Fingerprint identifies a public key like ssh-keygen -l does:
// "SHA256:" and the unpadded standard base64 of the SHA-256 of its PKIX DER.
// It is the "kid" of every token the key signs.
func Fingerprint(pub crypto.PublicKey) (string, error) {
	der, err := publicDER(pub)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(der)
	return "SHA256:" + base64.RawStdEncoding.EncodeToString(sum[:]), nil
}

func publicDER(pub crypto.PublicKey) ([]byte, error) {
	if _, err := jwsAlg(pub); err != nil {
		return nil, err
	}
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return nil, fmt.Errorf("encode public key as PKIX: %w", err)
	}
	return der, nil
}

func pemBlock(data []byte, want string) ([]byte, error) {
	b, _ := pem.Decode(data)
	if b == nil {
		return nil, fmt.Errorf("no PEM block found: expected a %q block", want)
	}
	if b.Type != want {
		return nil, fmt.Errorf("PEM block is %q, expected %q", b.Type, want)
	}
	return b.Bytes, nil
}

// JWS algorithm names (RFC 8037 and RFC 7518).
const (
	jwsEdDSA = "EdDSA"
	jwsES256 = "ES256"
)

var errUnsupportedKey = errors.New("unsupported key")

// jwsAlg names the JWS algorithm for pub, or says why pub is not usable.
func jwsAlg(pub crypto.PublicKey) (string, error) {
	switch k := pub.(type) {
	case ed25519.PublicKey:
		if len(k) != ed25519.PublicKeySize {
			return "", fmt.Errorf("%w: Ed25519 public key has %d bytes, want %d", errUnsupportedKey, len(k), ed25519.PublicKeySize)
		}
		return jwsEdDSA, nil
	case *ecdsa.PublicKey:
		if k == nil || k.Curve != elliptic.P256() {
			name := "nil"
			if k != nil && k.Curve != nil {
				name = k.Curve.Params().Name
			}
			return "", fmt.Errorf("%w: ECDSA curve %s: only P-256 is supported; generate a key with --alg %s or %s", errUnsupportedKey, name, AlgEd25519, AlgECDSAP256)
		}
		return jwsES256, nil
	case *rsa.PublicKey:
		return "", fmt.Errorf("%w: RSA keys are not supported: use an Ed25519 (default) or ECDSA P-256 key", errUnsupportedKey)
	}
	return "", fmt.Errorf("%w: key type %T: use an Ed25519 (default) or ECDSA P-256 key", errUnsupportedKey, pub)
}
