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
	"strings"
	"testing"
)

func TestPEMRoundTrip(t *testing.T) {
	for _, alg := range []Algorithm{AlgEd25519, AlgECDSAP256} {
		t.Run(string(alg), func(t *testing.T) {
			key := newKey(t, alg)
			privPEM, err := MarshalPrivateKeyPEM(key)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(string(privPEM), "-----BEGIN PRIVATE KEY-----\n") {
				t.Errorf("private key PEM starts %q, want a PKCS#8 PRIVATE KEY block", privPEM[:30])
			}
			back, err := ParsePrivateKeyPEM(privPEM)
			if err != nil {
				t.Fatal(err)
			}
			if !back.(interface{ Equal(crypto.PrivateKey) bool }).Equal(key) {
				t.Error("private key changed in the round trip")
			}
			pubPEM, err := MarshalPublicKeyPEM(key.Public())
			if err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(string(pubPEM), "-----BEGIN PUBLIC KEY-----\n") {
				t.Errorf("public key PEM starts %q, want a PKIX PUBLIC KEY block", pubPEM[:30])
			}
			pub, err := ParsePublicKeyPEM(pubPEM)
			if err != nil {
				t.Fatal(err)
			}
			if !pub.(interface{ Equal(crypto.PublicKey) bool }).Equal(key.Public()) {
				t.Error("public key changed in the round trip")
			}
			// A token signed with the re-read private key verifies with the
			// re-read public key.
			raw := sign(t, claims(), back)
			if _, err := Verify(t.Context(), raw, StaticKeys{"alice": {{Public: pub}}}, Expect{Network: "blue", Now: t0}); err != nil {
				t.Errorf("Verify after PEM round trip: %v", err)
			}
		})
	}
}

func TestPEMRejects(t *testing.T) {
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	p384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	der := func(b []byte, err error) []byte {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	block := func(typ string, der []byte) []byte { return pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}) }
	ed := newKey(t, AlgEd25519)
	edPub := block("PUBLIC KEY", der(x509.MarshalPKIXPublicKey(ed.Public())))
	edPriv := block("PRIVATE KEY", der(x509.MarshalPKCS8PrivateKey(ed)))
	for _, tc := range []struct {
		name  string
		parse func([]byte) (any, error)
		data  []byte
		want  string
	}{
		{"public: RSA", parsePub, block("PUBLIC KEY", der(x509.MarshalPKIXPublicKey(&rsaKey.PublicKey))), "RSA"},
		{"public: P-384", parsePub, block("PUBLIC KEY", der(x509.MarshalPKIXPublicKey(&p384.PublicKey))), "P-384"},
		{"public: private block", parsePub, edPriv, `"PRIVATE KEY"`},
		{"public: PKCS#1 type", parsePub, block("RSA PUBLIC KEY", x509.MarshalPKCS1PublicKey(&rsaKey.PublicKey)), `"RSA PUBLIC KEY"`},
		{"public: not PEM", parsePub, []byte("ssh-ed25519 AAAA alice"), "no PEM block"},
		{"public: garbage DER", parsePub, block("PUBLIC KEY", []byte("nope")), "PKIX"},
		{"private: RSA", parsePriv, block("PRIVATE KEY", der(x509.MarshalPKCS8PrivateKey(rsaKey))), "RSA"},
		{"private: P-384", parsePriv, block("PRIVATE KEY", der(x509.MarshalPKCS8PrivateKey(p384))), "P-384"},
		{"private: public block", parsePriv, edPub, `"PUBLIC KEY"`},
		{"private: SEC1 type", parsePriv, block("EC PRIVATE KEY", der(x509.MarshalECPrivateKey(p384))), `"EC PRIVATE KEY"`},
		{"private: empty", parsePriv, nil, "no PEM block"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			k, err := tc.parse(tc.data)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("parse = %T, %v; want an error mentioning %q", k, err, tc.want)
			}
		})
	}
	if _, err := MarshalPublicKeyPEM(&rsaKey.PublicKey); err == nil || !strings.Contains(err.Error(), "RSA") {
		t.Errorf("MarshalPublicKeyPEM(RSA) = %v, want an RSA error", err)
	}
	if _, err := MarshalPrivateKeyPEM(p384); err == nil || !strings.Contains(err.Error(), "P-256") {
		t.Errorf("MarshalPrivateKeyPEM(P-384) = %v, want a P-256 error", err)
	}
	if _, err := Sign(claims(), rsaKey); err == nil || !strings.Contains(err.Error(), "RSA") {
		t.Errorf("Sign with RSA = %v, want an RSA error", err)
	}
	if _, err := Sign(claims(), p384); err == nil || !strings.Contains(err.Error(), "P-256") {
		t.Errorf("Sign with P-384 = %v, want a P-256 error", err)
	}
	if _, err := GenerateKey("rsa"); err == nil || !strings.Contains(err.Error(), "ed25519") {
		t.Errorf("GenerateKey(rsa) = %v, want an error listing the algorithms", err)
	}
}

func parsePub(b []byte) (any, error)  { return ParsePublicKeyPEM(b) }
func parsePriv(b []byte) (any, error) { return ParsePrivateKeyPEM(b) }

func TestFingerprint(t *testing.T) {
	// Independently: "SHA256:" + unpadded std base64 of SHA-256(PKIX DER),
	// what ssh-keygen -l prints for the same key.
	seed := make([]byte, ed25519.SeedSize)
	pub := ed25519.NewKeyFromSeed(seed).Public()
	der, _ := x509.MarshalPKIXPublicKey(pub)
	sum := sha256.Sum256(der)
	want := "SHA256:" + base64.RawStdEncoding.EncodeToString(sum[:])
	got, err := Fingerprint(pub)
	if err != nil || got != want {
		t.Errorf("Fingerprint = %q, %v; want %q", got, err, want)
	}
	other, _ := Fingerprint(newKey(t, AlgEd25519).Public())
	if other == got {
		t.Error("two keys have the same fingerprint")
	}
	if _, err := Fingerprint("not a key"); err == nil {
		t.Error("Fingerprint(string) succeeded")
	}
	if _, err := NewKey(ed25519.PublicKey{1, 2, 3}); err == nil {
		t.Error("NewKey accepted a 3-byte Ed25519 key")
	}
}
