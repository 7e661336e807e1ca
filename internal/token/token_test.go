package token

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"math/big"
	"slices"
	"strings"
	"testing"
	"time"
)

var t0 = time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)

func newKey(t testing.TB, alg Algorithm) crypto.Signer {
	t.Helper()
	k, err := GenerateKey(alg)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// claims is a valid set of claims at t0, valid for an hour.
func claims() Claims {
	return Claims{Network: "blue", User: "alice", IssuedAt: t0, Expiry: t0.Add(time.Hour)}
}

func sign(t testing.TB, c Claims, key crypto.Signer) string {
	t.Helper()
	raw, err := Sign(c, key)
	if err != nil {
		t.Fatalf("Sign: %v", err)
	}
	return raw
}

// craft signs arbitrary header and claims JSON with key, bypassing Sign's
// checks, to make tokens that Sign would never produce.
func craft(t testing.TB, key crypto.Signer, alg, headerJSON, claimsJSON string) string {
	t.Helper()
	input := b64.EncodeToString([]byte(headerJSON)) + "." + b64.EncodeToString([]byte(claimsJSON))
	sig, err := signJWS(alg, key, []byte(input))
	if err != nil {
		t.Fatal(err)
	}
	return input + "." + b64.EncodeToString(sig)
}

func keysOf(t testing.TB, user string, signers ...crypto.Signer) StaticKeys {
	t.Helper()
	var ks []Key
	for _, s := range signers {
		k, err := NewKey(s.Public())
		if err != nil {
			t.Fatal(err)
		}
		ks = append(ks, k)
	}
	return StaticKeys{user: ks}
}

func TestSignVerifyRoundTrip(t *testing.T) {
	for _, alg := range []Algorithm{AlgEd25519, AlgECDSAP256, ""} {
		t.Run(string(alg), func(t *testing.T) {
			key := newKey(t, alg)
			in := claims()
			in.NotBefore = t0.Add(time.Minute)
			in.Clusters = []string{"a", "b"}
			raw := sign(t, in, key)
			if strings.Contains(raw, "=") || strings.Count(raw, ".") != 2 {
				t.Fatalf("token %q is not unpadded compact JWS", raw)
			}
			got, err := Verify(context.Background(), raw, keysOf(t, "alice", key), Expect{Network: "blue", Cluster: "b", Now: t0.Add(2 * time.Minute)})
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			fp, _ := Fingerprint(key.Public())
			if got.Network != "blue" || got.User != "alice" || !got.IssuedAt.Equal(t0) || !got.NotBefore.Equal(in.NotBefore) ||
				!got.Expiry.Equal(in.Expiry) || !slices.Equal(got.Clusters, in.Clusters) || got.KeyID != fp || len(got.Nonce) != 22 {
				t.Errorf("claims = %+v, want %+v with kid %s and a 16-byte nonce", got, in, fp)
			}
		})
	}
}

func TestSignWireFormat(t *testing.T) {
	key := newKey(t, AlgEd25519)
	c := claims()
	c.Nonce = "n1"
	raw := sign(t, c, key)
	seg := strings.Split(raw, ".")
	h, _ := base64.RawURLEncoding.DecodeString(seg[0])
	cl, _ := base64.RawURLEncoding.DecodeString(seg[1])
	fp, _ := Fingerprint(key.Public())
	if want := `{"alg":"EdDSA","typ":"switchboard-token","kid":"` + fp + `"}`; string(h) != want {
		t.Errorf("header = %s, want %s", h, want)
	}
	want := `{"net":"blue","sub":"alice","iat":1777636800,"exp":1777640400,"jti":"n1"}`
	if string(cl) != want {
		t.Errorf("claims = %s, want %s (nbf and clusters omitted when empty)", cl, want)
	}
}

func TestSignFillsDefaults(t *testing.T) {
	key := newKey(t, AlgEd25519)
	before := time.Now().Truncate(time.Second)
	c := Claims{Network: "n", User: "u", Expiry: time.Now().Add(time.Hour)}
	a, _ := Parse(sign(t, c, key))
	b, _ := Parse(sign(t, c, key))
	if a.IssuedAt.Before(before) || a.IssuedAt.After(time.Now()) {
		t.Errorf("IssuedAt = %v, want about now", a.IssuedAt)
	}
	if a.Nonce == b.Nonce {
		t.Errorf("two tokens share nonce %q", a.Nonce)
	}
}

func TestSignRejects(t *testing.T) {
	ed := newKey(t, AlgEd25519)
	otherFP, _ := Fingerprint(newKey(t, AlgEd25519).Public())
	for _, tc := range []struct {
		name string
		edit func(*Claims)
		want string
	}{
		{"no network", func(c *Claims) { c.Network = "" }, "network"},
		{"no user", func(c *Claims) { c.User = "" }, "user"},
		{"no expiry", func(c *Claims) { c.Expiry = time.Time{} }, "Expiry"},
		{"expiry equals issued-at", func(c *Claims) { c.Expiry = c.IssuedAt }, "not after issued-at"},
		{"expiry within the same second", func(c *Claims) { c.Expiry = c.IssuedAt.Add(500 * time.Millisecond) }, "not after issued-at"},
		{"expiry before issued-at", func(c *Claims) { c.Expiry = c.IssuedAt.Add(-time.Hour) }, "not after issued-at"},
		{"not-before after expiry", func(c *Claims) { c.NotBefore = c.Expiry.Add(time.Second) }, "not-before"},
		{"empty cluster", func(c *Claims) { c.Clusters = []string{"a", ""} }, "clusters"},
		{"foreign key id", func(c *Claims) { c.KeyID = otherFP }, "KeyID"},
		{"huge", func(c *Claims) { c.Clusters = []string{strings.Repeat("c", MaxSize)} }, "exceed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := claims()
			tc.edit(&c)
			_, err := Sign(c, ed)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Sign error = %v, want one mentioning %q", err, tc.want)
			}
		})
	}
	if _, err := Sign(claims(), nil); err == nil {
		t.Error("Sign with nil key: no error")
	}
}

// TestES256IsRFC7518 checks the ES256 signature with crypto/ecdsa directly:
// 64 bytes, r then s, each 32 bytes big-endian, over SHA-256 of the
// signing input.
func TestES256IsRFC7518(t *testing.T) {
	key := newKey(t, AlgECDSAP256)
	raw := sign(t, claims(), key)
	seg := strings.Split(raw, ".")
	var h map[string]string
	hb, _ := base64.RawURLEncoding.DecodeString(seg[0])
	if err := json.Unmarshal(hb, &h); err != nil || h["alg"] != "ES256" {
		t.Fatalf("header %s: alg is not ES256 (%v)", hb, err)
	}
	sig, err := base64.RawURLEncoding.DecodeString(seg[2])
	if err != nil || len(sig) != 64 {
		t.Fatalf("signature: %d bytes, err %v; want 64 raw bytes", len(sig), err)
	}
	digest := sha256.Sum256([]byte(seg[0] + "." + seg[1]))
	r, s := new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:])
	pub := key.Public().(*ecdsa.PublicKey)
	if !ecdsa.Verify(pub, digest[:], r, s) {
		t.Fatal("ecdsa.Verify rejects the r||s signature")
	}
	digest[0] ^= 1
	if ecdsa.Verify(pub, digest[:], r, s) {
		t.Fatal("ecdsa.Verify accepts a different digest: the check above proves nothing")
	}
}

func TestFromSecretData(t *testing.T) {
	for _, tc := range []struct {
		name string
		data map[string][]byte
		want string
	}{
		{"token key", map[string][]byte{"token": []byte("a.b.c\n"), "public-key.pem": []byte("x.y.z")}, "a.b.c"},
		{"seed key", map[string][]byte{"public-key.pem": []byte(" x.y.z ")}, "x.y.z"},
		{"empty token falls back", map[string][]byte{"token": nil, "public-key.pem": []byte("x.y.z")}, "x.y.z"},
		{"none", map[string][]byte{"user": []byte("alice")}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := FromSecretData(tc.data)
			if got != tc.want || (err != nil) != (tc.want == "") {
				t.Errorf("FromSecretData = %q, %v; want %q", got, err, tc.want)
			}
		})
	}
}
