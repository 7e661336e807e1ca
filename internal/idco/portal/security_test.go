package portal_test

import (
	"bytes"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"switchboard/internal/idco"
	"switchboard/internal/idco/portal"
	"switchboard/internal/token"
)

// TestHostileOwner has bob, who owns red, aim every page and action at
// alice's blue with blue's IDs: each is refused and changes nothing. The
// same request with bob's own IDs (or by alice) is the positive control.
func TestHostileOwner(t *testing.T) {
	f := newFixture(t)
	bob := f.login("bob")
	csrf := bob.csrf()
	for _, tc := range []struct {
		name          string
		hostile, mine string // paths (GET) or actions (POST with params)
		post          url.Values
		minePost      url.Values
	}{
		{name: "network page", hostile: "/portal/networks/blue", mine: "/portal/networks/red"},
		{name: "network's authorizations", hostile: "/portal/authorizations?network=blue", mine: "/portal/authorizations?network=red"},
		{name: "confirm end", hostile: "/portal/actions/end-authorization?id=" + f.authz["blue"], mine: "/portal/actions/end-authorization?id=" + f.authz["red"]},
		{name: "confirm grant", hostile: "/portal/actions/grant?user=bob&network=blue", mine: "/portal/actions/grant?user=bob&network=red"},
		{name: "confirm revoke key", hostile: "/portal/actions/revoke-key?fingerprint=" + url.QueryEscape(f.fps["alice"]),
			mine: "/portal/actions/revoke-key?fingerprint=" + url.QueryEscape(f.fps["bob"])},
		{name: "end", hostile: "/portal/actions/end-authorization", post: url.Values{"id": {f.authz["blue"]}},
			mine: "/portal/actions/end-authorization", minePost: url.Values{"id": {f.authz["red"]}}},
		{name: "grant", hostile: "/portal/actions/grant", post: url.Values{"user": {"bob"}, "network": {"blue"}},
			mine: "/portal/actions/grant", minePost: url.Values{"user": {"bob"}, "network": {"red"}}},
		{name: "revoke permission", hostile: "/portal/actions/revoke-permission", post: url.Values{"user": {"carol"}, "network": {"blue"}},
			mine: "/portal/actions/revoke-permission", minePost: url.Values{"user": {"carol"}, "network": {"red"}}},
		{name: "revoke key", hostile: "/portal/actions/revoke-key", post: url.Values{"fingerprint": {f.fps["alice"]}},
			mine: "/portal/actions/revoke-key", minePost: url.Values{"fingerprint": {f.fps["bob"]}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var st int
			var body string
			if tc.post != nil {
				tc.post.Set("csrf", csrf)
				st, body = bob.post(tc.hostile, tc.post)
			} else {
				st, body = bob.get(tc.hostile)
			}
			if st != http.StatusForbidden {
				t.Errorf("hostile %s: %d, want 403: %s", tc.hostile, st, body)
			}
			if tc.minePost != nil {
				tc.minePost.Set("csrf", csrf)
				st, body = bob.post(tc.mine, tc.minePost)
				if st != http.StatusSeeOther {
					t.Errorf("control %s: %d, want 303: %s", tc.mine, st, body)
				}
			} else if st, body = bob.get(tc.mine); st != http.StatusOK {
				t.Errorf("control %s: %d, want 200: %s", tc.mine, st, body)
			}
		})
	}
	// Nothing of alice's changed.
	if a, _ := f.svc.Authorization(f.ctx, f.authz["blue"]); a.RevokedAt != nil {
		t.Error("bob ended blue's authorization")
	}
	if k, _ := f.svc.Key(f.ctx, f.fps["alice"]); k.RevokedAt != nil {
		t.Error("bob revoked alice's key")
	}
	v, _ := f.svc.NetworkView(f.ctx, "blue")
	if len(v.Permitted) != 0 {
		t.Errorf("blue's permissions %v after bob's grant, want none", v.Permitted)
	}
	// The controls did act on bob's own red.
	if a, _ := f.svc.Authorization(f.ctx, f.authz["red"]); a.RevokedAt == nil {
		t.Error("bob's control did not end red's authorization")
	}
}

// TestCSRF refuses a POST without the session's CSRF token, with another
// session's, or from another site; the same POST with the token works.
func TestCSRF(t *testing.T) {
	f := newFixture(t)
	alice := f.login("alice")
	csrf := alice.csrf()
	other := f.login("alice").csrf()
	form := func(token string) url.Values {
		v := url.Values{"user": {"erin"}, "network": {"blue"}}
		if token != "" {
			v.Set("csrf", token)
		}
		return v
	}
	for _, tc := range []struct {
		name    string
		form    url.Values
		headers []string
	}{
		{"missing", form(""), nil},
		{"wrong", form("x" + csrf[1:]), nil},
		{"another session's", form(other), nil},
		{"cross-site", form(csrf), []string{"Sec-Fetch-Site", "cross-site"}},
		{"same-site sibling", form(csrf), []string{"Sec-Fetch-Site", "same-site"}},
	} {
		if st, _ := alice.post("/portal/actions/grant", tc.form, tc.headers...); st != http.StatusForbidden {
			t.Errorf("%s CSRF token: %d, want 403", tc.name, st)
		}
	}
	if v, _ := f.svc.NetworkView(f.ctx, "blue"); len(v.Permitted) != 0 {
		t.Fatalf("a refused POST granted: %v", v.Permitted)
	}
	if st, _ := alice.post("/portal/logout", url.Values{}); st != http.StatusForbidden {
		t.Errorf("logout without CSRF token: %d, want 403", st)
	}
	if st, _ := alice.post("/portal/actions/grant", form(csrf), "Sec-Fetch-Site", "same-origin"); st != http.StatusSeeOther {
		t.Errorf("control with the token: %d, want 303", st)
	}
	if v, _ := f.svc.NetworkView(f.ctx, "blue"); len(v.Permitted) != 1 {
		t.Errorf("the control did not grant: %v", v.Permitted)
	}
}

// TestLinks refuses replayed and expired one-time links and challenges,
// logins of non-owners, keys of other users and revoked keys; a fresh
// link works.
func TestLinks(t *testing.T) {
	f := newFixture(t)
	link, err := f.link("alice", f.keys["alice"])
	f.must(err)
	b := f.browser()
	if st, _ := b.post(link, nil, "Sec-Fetch-Site", "cross-site"); st != http.StatusForbidden {
		t.Errorf("cross-site link POST: %d, want 403", st)
	}
	if st, _ := b.post(link, nil); st != http.StatusSeeOther {
		t.Fatalf("control: fresh link: %d, want 303", st)
	}
	if st, _ := f.browser().get(link); st != http.StatusGone {
		t.Errorf("replayed link page: %d, want 410", st)
	}
	if st, _ := f.browser().post(link, nil); st != http.StatusGone {
		t.Errorf("replayed link: %d, want 410", st)
	}

	expiring, err := f.link("alice", f.keys["alice"])
	f.must(err)
	f.clock.advance(portal.LinkTTL + time.Second)
	if st, _ := f.browser().post(expiring, nil); st != http.StatusGone {
		t.Errorf("expired link: %d, want 410", st)
	}

	// A signed challenge is spent once.
	ch := challenge(t, f, "alice")
	raw, err := token.Sign(token.Claims{Network: portal.LoginAudience, User: "alice", IssuedAt: f.clock.now(), Nonce: ch, Expiry: f.clock.now().Add(time.Minute)}, f.keys["alice"])
	f.must(err)
	if st := linkStatus(t, f, raw); st != http.StatusOK {
		t.Fatalf("control: signed challenge: %d, want 200", st)
	}
	if st := linkStatus(t, f, raw); st != http.StatusForbidden {
		t.Errorf("replayed signed challenge: %d, want 403", st)
	}
	// An expired challenge.
	ch = challenge(t, f, "alice")
	f.clock.advance(portal.ChallengeTTL + time.Second)
	raw, err = token.Sign(token.Claims{Network: portal.LoginAudience, User: "alice", IssuedAt: f.clock.now(), Nonce: ch, Expiry: f.clock.now().Add(time.Hour)}, f.keys["alice"])
	f.must(err)
	if st := linkStatus(t, f, raw); st != http.StatusForbidden {
		t.Errorf("expired challenge: %d, want 403", st)
	}
	// A challenge signed for another network (a join token) is no login.
	ch = challenge(t, f, "alice")
	raw, err = token.Sign(token.Claims{Network: "blue", User: "alice", IssuedAt: f.clock.now(), Nonce: ch, Expiry: f.clock.now().Add(time.Hour)}, f.keys["alice"])
	f.must(err)
	if st := linkStatus(t, f, raw); st != http.StatusForbidden {
		t.Errorf("join token as login: %d, want 403", st)
	}
	// Refusals by who signs.
	for _, tc := range []struct {
		name, user, signer, want string
	}{
		{"another user's key", "alice", "bob", "Forged"},
		{"not an owner", "carol", "carol", "NotAnOwner"},
	} {
		_, err := f.link(tc.user, f.keys[tc.signer])
		if err == nil {
			t.Errorf("%s: signed in", tc.name)
			continue
		}
		es, _ := f.svc.Audit(f.ctx, idco.AuditFilter{Action: "portal-login", Refused: true, Limit: 1})
		if len(es) != 1 || es[0].Reason != tc.want || es[0].User != tc.user {
			t.Errorf("%s: audit %+v, want a refused portal-login of %s with reason %s", tc.name, es, tc.user, tc.want)
		}
	}
	if _, err := f.link("bob", f.keys["bob"]); err != nil {
		t.Errorf("control: bob signs in: %v", err)
	}
}

// TestSessions sends requests without a session, after logout and after
// expiry to the login page (GET) or refuses them (POST).
func TestSessions(t *testing.T) {
	f := newFixture(t)
	if st, _ := f.browser().get("/portal/"); st != http.StatusSeeOther {
		t.Errorf("no session: %d, want 303 to the login page", st)
	}
	alice := f.login("alice")
	csrf := alice.csrf()
	if st, _ := alice.post("/portal/logout", url.Values{"csrf": {csrf}}); st != http.StatusSeeOther {
		t.Fatalf("logout: %d", st)
	}
	if st, _ := alice.get("/portal/"); st != http.StatusSeeOther {
		t.Errorf("after logout: %d, want 303", st)
	}

	alice = f.login("alice")
	csrf = alice.csrf()
	f.clock.advance(portal.SessionTTL - time.Second)
	if st, _ := alice.get("/portal/"); st != http.StatusOK {
		t.Errorf("control: session before expiry: %d, want 200", st)
	}
	f.clock.advance(2 * time.Second)
	if st, _ := alice.get("/portal/"); st != http.StatusSeeOther {
		t.Errorf("expired session GET: %d, want 303", st)
	}
	if st, _ := alice.post("/portal/actions/grant", url.Values{"user": {"erin"}, "network": {"blue"}, "csrf": {csrf}}); st != http.StatusUnauthorized {
		t.Errorf("expired session POST: %d, want 401", st)
	}
}

// challenge asks for a login challenge.
func challenge(t *testing.T, f *fixture, user string) string {
	t.Helper()
	resp, err := f.srv.Client().Post(f.srv.URL+"/portal/api/challenge", "application/json", strings.NewReader(`{"user":"`+user+`"}`))
	f.must(err)
	defer resp.Body.Close()
	var c portal.ChallengeResponse
	if resp.StatusCode != http.StatusOK || decode(resp, &c) != nil {
		t.Fatalf("challenge: %s", resp.Status)
	}
	return c.Challenge
}

func linkStatus(t *testing.T, f *fixture, raw string) int {
	t.Helper()
	resp, err := f.srv.Client().Post(f.srv.URL+"/portal/api/link", "application/json", strings.NewReader(`{"token":"`+raw+`"}`))
	f.must(err)
	resp.Body.Close()
	return resp.StatusCode
}

// TestLoginAPIWantsJSON refuses a form-encoded login request, which a
// cross-site form could send.
func TestLoginAPIWantsJSON(t *testing.T) {
	f := newFixture(t)
	resp, err := f.srv.Client().Post(f.srv.URL+"/portal/api/challenge", "application/x-www-form-urlencoded", bytes.NewReader([]byte(`user=alice`)))
	f.must(err)
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnsupportedMediaType {
		t.Errorf("form-encoded challenge request: %s, want 415", resp.Status)
	}
	challenge(t, f, "alice") // control
}
