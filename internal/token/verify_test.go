package token

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

func TestVerifyReasons(t *testing.T) {
	alice := newKey(t, AlgEd25519)
	aliceEC := newKey(t, AlgECDSAP256)
	mallory := newKey(t, AlgEd25519)
	fp, _ := Fingerprint(alice.Public())
	fpEC, _ := Fingerprint(aliceEC.Public())
	keys := keysOf(t, "alice", alice)
	with := func(edit func(*Claims)) string {
		c := claims()
		edit(&c)
		return sign(t, c, alice)
	}
	good := sign(t, claims(), alice)
	seg := strings.Split(good, ".")
	// The claims re-encoded for another network, the original signature kept.
	edited := seg[0] + "." + b64.EncodeToString([]byte(strings.Replace(mustDecode(t, seg[1]), `"blue"`, `"red"`, 1))) + "." + seg[2]
	hdr := func(alg, kid string) string {
		return fmt.Sprintf(`{"alg":%q,"typ":"switchboard-token","kid":%q}`, alg, kid)
	}
	const body = `{"net":"blue","sub":"alice","iat":1777636800,"exp":1777640400,"jti":"n"}`

	for _, tc := range []struct {
		name string
		raw  string
		keys StaticKeys
		want Expect
		r    Reason // "" means valid
	}{
		{"valid", good, keys, Expect{}, ""},
		{"valid ES256", sign(t, claims(), aliceEC), keysOf(t, "alice", aliceEC), Expect{}, ""},
		{"forged: another key", sign(t, claims(), mallory), keys, Expect{}, ReasonForged},
		{"forged: mallory claims alice's kid", func() string {
			c := claims()
			return craft(t, mallory, jwsEdDSA, hdr("EdDSA", fp), mustJSON(t, c))
		}(), keys, Expect{}, ReasonForged},
		{"forged: claims edited after signing", edited, keys, Expect{Network: "red"}, ReasonForged},
		{"forged: signature of another token", seg[0] + "." + seg[1] + "." + strings.Split(with(func(c *Claims) { c.Nonce = "x" }), ".")[2], keys, Expect{}, ReasonForged},
		{"unknown user", good, StaticKeys{"bob": keys["alice"]}, Expect{}, ReasonUnknownUser},
		{"unknown user: empty key list", good, StaticKeys{"alice": nil}, Expect{}, ReasonUnknownUser},
		{"revoked key", good, StaticKeys{"alice": {{ID: fp, Public: alice.Public(), Revoked: true}}}, Expect{}, ReasonRevokedKey},
		{"expired", good, keys, Expect{Now: t0.Add(2 * time.Hour)}, ReasonExpired},
		{"not yet valid: nbf", with(func(c *Claims) { c.NotBefore = t0.Add(10 * time.Minute) }), keys, Expect{}, ReasonNotYetValid},
		{"not yet valid: iat in the future", good, keys, Expect{Now: t0.Add(-time.Minute)}, ReasonNotYetValid},
		{"wrong network", good, keys, Expect{Network: "red"}, ReasonWrongNetwork},
		{"wrong cluster", with(func(c *Claims) { c.Clusters = []string{"a", "b"} }), keys, Expect{Cluster: "c"}, ReasonWrongCluster},
		{"listed cluster", with(func(c *Claims) { c.Clusters = []string{"a", "b"} }), keys, Expect{Cluster: "b"}, ""},
		{"clusters not checked without Expect.Cluster", with(func(c *Claims) { c.Clusters = []string{"a"} }), keys, Expect{}, ""},
		{"no clusters: any cluster", good, keys, Expect{Cluster: "c"}, ""},
		{"malformed: alg none", b64.EncodeToString([]byte(`{"alg":"none","typ":"switchboard-token","kid":"k"}`)) + "." + seg[1] + ".", keys, Expect{}, ReasonMalformed},
		{"malformed: header alg ES256 for an Ed25519 kid", craft(t, alice, jwsEdDSA, hdr("ES256", fp), body), keys, Expect{}, ReasonMalformed},
		{"malformed: header alg EdDSA for a P-256 kid", craft(t, aliceEC, jwsES256, hdr("EdDSA", fpEC), body), keysOf(t, "alice", aliceEC), Expect{}, ReasonMalformed},
		{"malformed: two parts", seg[0] + "." + seg[1], keys, Expect{}, ReasonMalformed},
		// Checks stop at the first failure, in the documented order.
		{"forged beats expired", sign(t, claims(), mallory), keys, Expect{Now: t0.Add(2 * time.Hour)}, ReasonForged},
		{"expired beats wrong network", good, keys, Expect{Network: "red", Now: t0.Add(2 * time.Hour)}, ReasonExpired},
		{"wrong network beats wrong cluster", with(func(c *Claims) { c.Clusters = []string{"a"} }), keys, Expect{Network: "red", Cluster: "c"}, ReasonWrongNetwork},
	} {
		t.Run(tc.name, func(t *testing.T) {
			want := tc.want
			if want.Network == "" {
				want.Network = "blue"
			}
			if want.Now.IsZero() {
				want.Now = t0.Add(time.Minute)
			}
			_, err := Verify(context.Background(), tc.raw, tc.keys, want)
			got, ok := ReasonOf(err)
			switch {
			case tc.r == "" && err != nil:
				t.Fatalf("Verify: %v, want success", err)
			case tc.r != "" && (!ok || got != tc.r):
				t.Fatalf("Verify: %v (reason %q), want reason %q", err, got, tc.r)
			}
			if msg := fmt.Sprint(err); err != nil && (msg[:1] != strings.ToLower(msg[:1]) || !strings.Contains(msg, ": ")) {
				t.Errorf("message %q: want lower case and a fix after a colon", err)
			}
		})
	}
}

func TestVerifyMultipleKeys(t *testing.T) {
	old, cur, other := newKey(t, AlgEd25519), newKey(t, AlgECDSAP256), newKey(t, AlgEd25519)
	oldK, _ := NewKey(old.Public())
	oldK.Revoked = true
	curK, _ := NewKey(cur.Public())
	otherK, _ := NewKey(other.Public())
	keys := StaticKeys{"alice": {oldK, {Public: nil}, curK}, "bob": {otherK}}
	for _, tc := range []struct {
		name string
		raw  string
		r    Reason
	}{
		{"signed with the current key", sign(t, claims(), cur), ""},
		{"signed with the revoked key", sign(t, claims(), old), ReasonRevokedKey},
		{"signed with bob's key", sign(t, claims(), other), ReasonForged},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Verify(context.Background(), tc.raw, keys, Expect{Network: "blue", Now: t0})
			if got, _ := ReasonOf(err); got != tc.r || (tc.r == "") != (err == nil) {
				t.Errorf("Verify: %v, want reason %q", err, tc.r)
			}
		})
	}
	// The same key listed twice, once revoked: the valid entry wins.
	both := StaticKeys{"alice": {oldK, {ID: oldK.ID, Public: old.Public()}}}
	if _, err := Verify(context.Background(), sign(t, claims(), old), both, Expect{Network: "blue", Now: t0}); err != nil {
		t.Errorf("key listed revoked and valid: %v, want success", err)
	}
}

func TestVerifyLeeway(t *testing.T) {
	key := newKey(t, AlgEd25519)
	keys := keysOf(t, "alice", key)
	c := claims()
	c.NotBefore = t0.Add(10 * time.Minute)
	raw := sign(t, c, key)
	nbf, exp := c.NotBefore, c.Expiry
	for _, tc := range []struct {
		name   string
		now    time.Time
		leeway time.Duration
		r      Reason
	}{
		{"default leeway: 30s before nbf", nbf.Add(-DefaultLeeway), 0, ""},
		{"default leeway: 31s before nbf", nbf.Add(-DefaultLeeway - time.Second), 0, ReasonNotYetValid},
		{"default leeway: 29s after exp", exp.Add(DefaultLeeway - time.Second), 0, ""},
		{"default leeway: 30s after exp", exp.Add(DefaultLeeway), 0, ReasonExpired},
		{"no leeway: at nbf", nbf, -1, ""},
		{"no leeway: 1ns before nbf", nbf.Add(-1), -1, ReasonNotYetValid},
		{"no leeway: 1ns before exp", exp.Add(-1), -1, ""},
		{"no leeway: at exp", exp, -1, ReasonExpired},
		{"5m leeway: 5m before nbf", nbf.Add(-5 * time.Minute), 5 * time.Minute, ""},
		{"5m leeway: 5m after exp", exp.Add(5 * time.Minute), 5 * time.Minute, ReasonExpired},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Verify(context.Background(), raw, keys, Expect{Network: "blue", Now: tc.now, Leeway: tc.leeway})
			if got, _ := ReasonOf(err); got != tc.r || (tc.r == "") != (err == nil) {
				t.Errorf("Verify at %v: %v, want reason %q", tc.now, err, tc.r)
			}
		})
	}
}

type failingKeys struct{ err error }

func (f failingKeys) Keys(context.Context, string) ([]Key, error) { return nil, f.err }

func TestVerifyKeySourceError(t *testing.T) {
	raw := sign(t, claims(), newKey(t, AlgEd25519))
	for _, inner := range []error{context.Canceled, &Error{Reason: ReasonUnknownUser, Detail: "remote said so"}} {
		_, err := Verify(context.Background(), raw, failingKeys{inner}, Expect{Network: "blue", Now: t0})
		if err == nil || !errors.Is(err, inner) || !strings.Contains(err.Error(), `"alice"`) {
			t.Errorf("Verify: %v, want %v wrapped, naming the user", err, inner)
		}
		if r, ok := ReasonOf(err); ok {
			t.Errorf("ReasonOf(key source error) = %q, want none", r)
		}
	}
}

func TestVerifyNeedsNetwork(t *testing.T) {
	key := newKey(t, AlgEd25519)
	_, err := Verify(context.Background(), sign(t, claims(), key), keysOf(t, "alice", key), Expect{Now: t0})
	if err == nil {
		t.Fatal("Verify without Expect.Network succeeded")
	}
	if _, ok := ReasonOf(err); ok {
		t.Errorf("a caller mistake has a Reason: %v", err)
	}
}

func TestReasonOf(t *testing.T) {
	e := &Error{Reason: ReasonExpired}
	if r, ok := ReasonOf(fmt.Errorf("admit pod: %w", e)); !ok || r != ReasonExpired {
		t.Errorf("ReasonOf(wrapped) = %q, %v", r, ok)
	}
	if _, ok := ReasonOf(errors.New("other")); ok {
		t.Error("ReasonOf(plain error) reports a reason")
	}
	if e.Error() == "" {
		t.Error("Error without Detail has an empty message")
	}
}

func mustDecode(t testing.TB, s string) string {
	t.Helper()
	b, err := b64.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func mustJSON(t testing.TB, c Claims) string {
	t.Helper()
	return fmt.Sprintf(`{"net":%q,"sub":%q,"iat":%d,"exp":%d,"jti":"n"}`, c.Network, c.User, c.IssuedAt.Unix(), c.Expiry.Unix())
}

// byKeyID offers only the key a token's header names.
type byKeyID struct {
	StaticKeys
	asked []string
}

func (s *byKeyID) KeysFor(_ context.Context, user, keyID string) ([]Key, error) {
	s.asked = append(s.asked, user+" "+keyID)
	var ks []Key
	for _, k := range s.StaticKeys[user] {
		if k.ID == keyID {
			ks = append(ks, k)
		}
	}
	return ks, nil
}

func TestVerifyKeyIDSource(t *testing.T) {
	a, b := newKey(t, AlgEd25519), newKey(t, AlgEd25519)
	ka, _ := NewKey(a.Public())
	kb, _ := NewKey(b.Public())
	src := &byKeyID{StaticKeys: StaticKeys{"alice": {ka, kb}}}
	if _, err := Verify(context.Background(), sign(t, claims(), b), src, Expect{Network: "blue", Now: t0}); err != nil {
		t.Errorf("token signed with the key its header names: %v, want success", err)
	}
	if len(src.asked) != 1 || src.asked[0] != "alice "+kb.ID {
		t.Errorf("KeysFor calls %q, want one for alice and key %s", src.asked, kb.ID)
	}
	// Header names key a, signature by key b: only a is offered.
	raw := craft(t, b, "EdDSA", fmt.Sprintf(`{"alg":"EdDSA","typ":"switchboard-token","kid":%q}`, ka.ID),
		`{"net":"blue","sub":"alice","iat":1777636800,"exp":1777640400,"jti":"n"}`)
	if _, err := Verify(context.Background(), raw, src, Expect{Network: "blue", Now: t0}); err == nil {
		t.Errorf("token whose header names another key than the signing one verified through KeysFor, want a refusal")
	}
	// The same token verifies with every key offered (Keys).
	if _, err := Verify(context.Background(), raw, src.StaticKeys, Expect{Network: "blue", Now: t0}); err != nil {
		t.Errorf("same token through Keys: %v, want success (Verify tries every key)", err)
	}
}
