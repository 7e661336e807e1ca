package token

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
	"unicode/utf8"
)

// parsed is a decoded token with what verifying it needs.
type parsed struct {
	claims Claims
	alg    string
	input  []byte // the signing input: header "." claims, as received
	sig    []byte
}

// Parse decodes a token WITHOUT checking its signature or its times: use it to
// learn the user before looking up keys, or to show a token to a person.
// Never trust its result for a decision; use Verify. Parse is strict: exactly
// three unpadded base64url segments with no other byte (no white space, not
// even the CR and LF that base64 decoders skip), at most MaxSize bytes, a
// known alg and typ, no unknown, duplicate or differently-cased JSON fields,
// and every required claim present. Errors are *Error with ReasonMalformed.
func Parse(raw string) (Claims, error) {
	p, err := parse(raw)
	if err != nil {
		return Claims{}, err
	}
	return p.claims, nil
}

func parse(raw string) (*parsed, error) {
	if len(raw) > MaxSize {
		return nil, malformed("token is %d bytes, more than the %d allowed", len(raw), MaxSize)
	}
	if raw == "" {
		return nil, malformed("token is empty")
	}
	seg := strings.Split(raw, ".")
	if len(seg) != 3 {
		return nil, malformed("token has %d dot-separated parts, want 3 (header.claims.signature)", len(seg))
	}
	var dec [3][]byte
	offset := 0
	for i, name := range []string{"header", "claims", "signature"} {
		// The base64 decoder skips CR and LF even in strict mode: without
		// this check one token would have endless spellings.
		if j := strings.IndexFunc(seg[i], notBase64URL); j >= 0 {
			return nil, malformed("token %s has byte %s at offset %d: a token is only base64url characters (A-Z a-z 0-9 - _) and two dots",
				name, byteName(seg[i][j]), offset+j)
		}
		offset += len(seg[i]) + 1
		b, err := b64.DecodeString(seg[i])
		if err != nil {
			return nil, malformed("token %s is not unpadded base64url: %v", name, err)
		}
		dec[i] = b
	}
	var h header
	if err := decodeStrict(dec[0], map[string]any{"alg": &h.Alg, "typ": &h.Typ, "kid": &h.Kid}); err != nil {
		return nil, malformed("token header: %v", err)
	}
	switch {
	case h.Alg != jwsEdDSA && h.Alg != jwsES256:
		return nil, malformed("token alg %q is not supported: want %q or %q", h.Alg, jwsEdDSA, jwsES256)
	case h.Typ != Type:
		return nil, malformed("token typ %q is not %q", h.Typ, Type)
	case h.Kid == "":
		return nil, malformed("token header has no kid")
	case len(dec[2]) != 64:
		return nil, malformed("token signature has %d bytes, %s needs 64", len(dec[2]), h.Alg)
	}
	var w wireClaims
	err := decodeStrict(dec[1], map[string]any{
		"net": &w.Net, "sub": &w.Sub, "iat": &w.Iat, "nbf": &w.Nbf,
		"exp": &w.Exp, "jti": &w.Jti, "clusters": &w.Clusters,
	})
	if err == nil {
		err = w.check()
	}
	if err != nil {
		return nil, malformed("token claims: %v", err)
	}
	c := Claims{
		Network:  w.Net,
		User:     w.Sub,
		IssuedAt: time.Unix(w.Iat, 0).UTC(),
		Expiry:   time.Unix(w.Exp, 0).UTC(),
		Nonce:    w.Jti,
		Clusters: w.Clusters,
		KeyID:    h.Kid,
	}
	if w.Nbf != 0 {
		c.NotBefore = time.Unix(w.Nbf, 0).UTC()
	}
	return &parsed{claims: c, alg: h.Alg, input: []byte(seg[0] + "." + seg[1]), sig: dec[2]}, nil
}

// notBase64URL reports whether r is outside the unpadded base64url
// alphabet.
func notBase64URL(r rune) bool {
	return !('A' <= r && r <= 'Z' || 'a' <= r && r <= 'z' || '0' <= r && r <= '9' || r == '-' || r == '_')
}

// byteName shows the byte b for an error: quoted if ASCII, in hex if not.
func byteName(b byte) string {
	if b < utf8.RuneSelf {
		return fmt.Sprintf("%q", rune(b))
	}
	return fmt.Sprintf("0x%02x", b)
}

func malformed(format string, args ...any) *Error {
	return reject(ReasonMalformed, "malformed token: "+fmt.Sprintf(format, args...)+
		`: copy the whole token from the Secret's "token" key, or sign a new one with "switchboard token sign"`)
}

// decodeStrict decodes the JSON object data into fields, keyed by exact
// member name. Unlike json.Unmarshal into a struct it refuses unknown and
// duplicate members, case-insensitive matches, null, and trailing data, so
// that what this package checks is what every other JSON reader sees.
func decodeStrict(data []byte, fields map[string]any) error {
	d := json.NewDecoder(bytes.NewReader(data))
	d.UseNumber()
	if t, err := d.Token(); err != nil || t != json.Delim('{') {
		return errors.New("not a JSON object")
	}
	seen := map[string]bool{}
	for d.More() {
		t, err := d.Token()
		if err != nil {
			return fmt.Errorf("bad JSON: %w", err)
		}
		name, _ := t.(string)
		dst, ok := fields[name]
		switch {
		case !ok:
			return fmt.Errorf("unknown field %q", name)
		case seen[name]:
			return fmt.Errorf("duplicate field %q", name)
		}
		seen[name] = true
		var v json.RawMessage
		if err := d.Decode(&v); err != nil {
			return fmt.Errorf("field %q: bad JSON: %w", name, err)
		}
		if string(v) == "null" {
			return fmt.Errorf("field %q is null", name)
		}
		if err := json.Unmarshal(v, dst); err != nil {
			return fmt.Errorf("field %q: %w", name, err)
		}
	}
	if t, err := d.Token(); err != nil || t != json.Delim('}') {
		return fmt.Errorf("bad JSON: object not closed (%v)", err)
	}
	if _, err := d.Token(); err != io.EOF {
		return errors.New("trailing data after the JSON object")
	}
	return nil
}
