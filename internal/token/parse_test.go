package token

import (
	"context"
	"strings"
	"testing"
	"time"
)

func TestParseMalformed(t *testing.T) {
	key := newKey(t, AlgEd25519)
	good := sign(t, claims(), key)
	seg := strings.Split(good, ".")
	enc := func(s string) string { return b64.EncodeToString([]byte(s)) }
	const hdr = `{"alg":"EdDSA","typ":"switchboard-token","kid":"k"}`
	const body = `{"net":"blue","sub":"alice","iat":1777636800,"exp":1777640400,"jti":"n"}`
	withHeader := func(h string) string { return enc(h) + "." + seg[1] + "." + seg[2] }
	withClaims := func(c string) string { return seg[0] + "." + enc(c) + "." + seg[2] }
	if _, err := Parse(withHeader(hdr)); err != nil {
		t.Fatalf("the base header does not parse, every case below is moot: %v", err)
	}
	if _, err := Parse(withClaims(body)); err != nil {
		t.Fatalf("the base claims do not parse, every case below is moot: %v", err)
	}
	for _, tc := range []struct{ name, raw, want string }{
		{"empty", "", "empty"},
		{"one part", seg[0], "1 dot-separated parts"},
		{"four parts", good + ".x", "4 dot-separated parts"},
		{"oversized", seg[0] + "." + strings.Repeat("A", MaxSize) + "." + seg[2], "more than"},
		{"padded base64", seg[0] + "." + seg[1] + "." + seg[2] + "==", "base64url"},
		{"std base64 alphabet", seg[0] + "." + strings.NewReplacer("-", "+", "_", "/").Replace(seg[1]) + "+/." + seg[2], "base64url"},
		{"space", " " + good, "base64url"},
		{"CRLF in the claims", seg[0] + "." + seg[1][:10] + "\r\n" + seg[1][10:] + "." + seg[2], `byte '\r'`},
		{"LF in the signature", seg[0] + "." + seg[1] + "." + seg[2][:8] + "\n" + seg[2][8:], `byte '\n'`},
		{"CR at the end", good + "\r", `byte '\r'`},
		{"LF in the header", seg[0][:4] + "\n" + seg[0][4:] + "." + seg[1] + "." + seg[2], "header"},
		{"tab inside", seg[0] + "." + seg[1][:5] + "\t" + seg[1][5:] + "." + seg[2], `byte '\t'`},
		{"NUL inside", seg[0] + "." + seg[1][:5] + "\x00" + seg[1][5:] + "." + seg[2], "claims"},
		{"short signature", seg[0] + "." + seg[1] + "." + seg[2][:40], "signature has"},
		{"empty signature", seg[0] + "." + seg[1] + ".", "signature has"},
		{"header not JSON", withHeader("alg=EdDSA"), "header"},
		{"header is an array", withHeader(`["EdDSA"]`), "object"},
		{"alg none", withHeader(`{"alg":"none","typ":"switchboard-token","kid":"k"}`), "alg"},
		{"alg HS256", withHeader(`{"alg":"HS256","typ":"switchboard-token","kid":"k"}`), "alg"},
		{"alg RS256", withHeader(`{"alg":"RS256","typ":"switchboard-token","kid":"k"}`), "alg"},
		{"alg lower case", withHeader(`{"alg":"eddsa","typ":"switchboard-token","kid":"k"}`), "alg"},
		{"no alg", withHeader(`{"typ":"switchboard-token","kid":"k"}`), "alg"},
		{"ALG differently cased", withHeader(`{"ALG":"EdDSA","typ":"switchboard-token","kid":"k"}`), "unknown field"},
		{"duplicate alg", withHeader(`{"alg":"none","alg":"EdDSA","typ":"switchboard-token","kid":"k"}`), "duplicate"},
		{"crit header", withHeader(`{"alg":"EdDSA","typ":"switchboard-token","kid":"k","crit":["exp"]}`), "unknown field"},
		{"typ JWT", withHeader(`{"alg":"EdDSA","typ":"JWT","kid":"k"}`), "typ"},
		{"no kid", withHeader(`{"alg":"EdDSA","typ":"switchboard-token"}`), "kid"},
		{"trailing data", withHeader(hdr + `{}`), "trailing"},
		{"unclosed", withHeader(hdr[:len(hdr)-1]), "JSON"},
		{"claims not JSON", withClaims("{"), "claims"},
		{"unknown claim", withClaims(`{"net":"blue","sub":"alice","iat":1777636800,"exp":1777640400,"jti":"n","admin":true}`), "unknown field"},
		{"net null", withClaims(`{"net":null,"sub":"alice","iat":1777636800,"exp":1777640400,"jti":"n"}`), "null"},
		{"net a number", withClaims(`{"net":7,"sub":"alice","iat":1777636800,"exp":1777640400,"jti":"n"}`), "net"},
		{"no net", withClaims(`{"sub":"alice","iat":1777636800,"exp":1777640400,"jti":"n"}`), "network"},
		{"no sub", withClaims(`{"net":"blue","iat":1777636800,"exp":1777640400,"jti":"n"}`), "user"},
		{"no jti", withClaims(`{"net":"blue","sub":"alice","iat":1777636800,"exp":1777640400}`), "nonce"},
		{"no exp", withClaims(`{"net":"blue","sub":"alice","iat":1777636800,"jti":"n"}`), "expiry"},
		{"no iat", withClaims(`{"net":"blue","sub":"alice","exp":1777640400,"jti":"n"}`), "issued-at"},
		{"fractional exp", withClaims(`{"net":"blue","sub":"alice","iat":1777636800,"exp":1777640400.5,"jti":"n"}`), "exp"},
		{"exp as string", withClaims(`{"net":"blue","sub":"alice","iat":1777636800,"exp":"1777640400","jti":"n"}`), "exp"},
		{"negative nbf", withClaims(`{"net":"blue","sub":"alice","iat":1777636800,"nbf":-1,"exp":1777640400,"jti":"n"}`), "not-before"},
		{"empty cluster name", withClaims(`{"net":"blue","sub":"alice","iat":1777636800,"exp":1777640400,"jti":"n","clusters":["a",""]}`), "clusters"},
		{"clusters not a list", withClaims(`{"net":"blue","sub":"alice","iat":1777636800,"exp":1777640400,"jti":"n","clusters":"a"}`), "clusters"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Parse(tc.raw)
			if r, _ := ReasonOf(err); r != ReasonMalformed {
				t.Fatalf("Parse = %+v, %v; want a Malformed error", c, err)
			}
			if !strings.Contains(err.Error(), tc.want) || !strings.HasPrefix(err.Error(), "malformed token: ") {
				t.Errorf("Parse error %q does not start with \"malformed token: \" and mention %q", err, tc.want)
			}
		})
	}
}

func TestParseDoesNotVerify(t *testing.T) {
	mallory := newKey(t, AlgEd25519)
	c, err := Parse(sign(t, claims(), mallory))
	if err != nil || c.User != "alice" || c.Network != "blue" {
		t.Errorf("Parse = %+v, %v; want alice's claims whoever signed them", c, err)
	}
}

func FuzzParse(f *testing.F) {
	key := newKey(f, AlgECDSAP256)
	c := claims()
	c.NotBefore = t0.Add(time.Minute)
	c.Clusters = []string{"a"}
	good := sign(f, c, key)
	for _, s := range []string{good, sign(f, claims(), newKey(f, AlgEd25519)), "", ".", "..", "a.b.c", "e30.e30.",
		good[:len(good)/2], strings.ReplaceAll(good, ".", "..")} {
		f.Add(s)
	}
	keys := keysOf(f, "alice", key)
	f.Fuzz(func(t *testing.T, raw string) {
		c, err := Parse(raw)
		if err != nil {
			if r, ok := ReasonOf(err); !ok || r != ReasonMalformed {
				t.Fatalf("Parse error %v has reason %q, want Malformed", err, r)
			}
			return
		}
		if c.Network == "" || c.User == "" || c.Nonce == "" || !c.Expiry.After(c.IssuedAt) {
			t.Fatalf("Parse accepted claims that break its contract: %+v", c)
		}
		// Whatever Parse accepts, Verify must handle without panicking.
		_, _ = Verify(context.Background(), raw, keys, Expect{Network: "blue", Now: t0})
	})
}
