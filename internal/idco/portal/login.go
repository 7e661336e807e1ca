package portal

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"time"

	"switchboard/internal/idco"
	"switchboard/internal/idco/pki"
	"switchboard/internal/token"
)

// cookieName carries the session id. The __Host- prefix makes the browser
// refuse it unless Secure, for the whole host and from HTTPS.
const cookieName = "__Host-switchboard-portal"

// maxForm bounds a login or action request's body.
const maxForm = 64 << 10

// ChallengeRequest asks for a login challenge (POST /portal/api/challenge).
type ChallengeRequest struct {
	User string `json:"user"`
}

// ChallengeResponse is a challenge to sign, valid until Expires.
type ChallengeResponse struct {
	Challenge string    `json:"challenge"`
	Expires   time.Time `json:"expires"`
}

// LinkRequest trades a signed challenge for a one-time link (POST
// /portal/api/link): Token is signed by the user's registered key, for
// network LoginAudience, with the challenge as its nonce.
type LinkRequest struct {
	Token string `json:"token"`
}

// LinkResponse is a one-time login link, valid until Expires.
type LinkResponse struct {
	Link    string    `json:"link"`
	Expires time.Time `json:"expires"`
}

// apiError is the body of the login API's errors.
type apiError struct {
	Error string `json:"error"`
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

// decodeJSON reads a JSON body. Requiring application/json keeps the
// login API out of reach of cross-site forms, which cannot send it without
// a CORS preflight that the portal never answers.
func decodeJSON(w http.ResponseWriter, r *http.Request, v any) bool {
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != "application/json" {
		writeJSON(w, http.StatusUnsupportedMediaType, apiError{"send the body as Content-Type: application/json"})
		return false
	}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxForm))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		writeJSON(w, http.StatusBadRequest, apiError{"decode body: " + err.Error()})
		return false
	}
	return true
}

func (p *Portal) newChallenge(w http.ResponseWriter, r *http.Request) {
	var req ChallengeRequest
	if !decodeJSON(w, r, &req) {
		return
	}
	if req.User == "" {
		writeJSON(w, http.StatusBadRequest, apiError{"user is empty: name the user whose key signs in"})
		return
	}
	c, ok := p.grants.newChallenge(req.User, ChallengeTTL)
	if !ok {
		writeJSON(w, http.StatusServiceUnavailable, apiError{"too many logins waiting: try again in a few minutes"})
		return
	}
	writeJSON(w, http.StatusOK, ChallengeResponse{Challenge: c, Expires: p.now().Add(ChallengeTTL).UTC()})
}

// newLink checks a signed challenge and answers a one-time link. Every
// outcome is audited as "portal-login".
func (p *Portal) newLink(w http.ResponseWriter, r *http.Request) {
	var req LinkRequest
	if !decodeJSON(w, r, &req) {
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), 15*time.Second)
	defer cancel()
	user, err := p.checkLogin(ctx, req.Token)
	entry := idco.AuditEntry{Action: "portal-login", User: user, Subject: "link", Allowed: err == nil}
	var refusal *loginRefusal
	switch {
	case errors.As(err, &refusal):
		entry.Reason, entry.Detail = refusal.reason, refusal.detail
	case err != nil:
		p.log.Error("portal login failed", "user", user, "err", err)
		writeJSON(w, http.StatusInternalServerError, apiError{"internal error: see the IDCO's log"})
		return
	}
	if aerr := p.svc.AuditEvent(idco.WithActor(ctx, "portal"), entry); aerr != nil {
		p.log.Error("audit portal login", "user", user, "err", aerr)
		writeJSON(w, http.StatusInternalServerError, apiError{"internal error: see the IDCO's log"})
		return
	}
	if refusal != nil {
		writeJSON(w, http.StatusForbidden, apiError{refusal.detail})
		return
	}
	code, ok := p.grants.newLink(user, p.linkTTL)
	if !ok {
		writeJSON(w, http.StatusServiceUnavailable, apiError{"too many logins waiting: try again in a few minutes"})
		return
	}
	p.log.Info("portal login link issued", "user", user)
	writeJSON(w, http.StatusOK, LinkResponse{Link: "https://" + r.Host + "/portal/login/link/" + code, Expires: p.now().Add(p.linkTTL).UTC()})
}

// loginRefusal is why a signed challenge does not sign in.
type loginRefusal struct{ reason, detail string }

func (e *loginRefusal) Error() string { return e.detail }

func refusal(reason, format string, args ...any) error {
	return &loginRefusal{reason: reason, detail: fmt.Sprintf(format, args...)}
}

// checkLogin verifies a login token: its challenge is live and issued for
// its user, a registered, unrevoked key of the user signed it, and the
// user owns a network. It returns the user (also on refusal, when known).
func (p *Portal) checkLogin(ctx context.Context, raw string) (string, error) {
	claims, err := token.Parse(raw)
	if err != nil {
		return "", refusal("Malformed", "token: %v: sign the challenge with \"switchboard portal login\"", err)
	}
	user := claims.User
	if claims.Network != LoginAudience {
		return user, refusal(string(token.ReasonWrongNetwork), "token is for network %q, not %q: it is not a login token", claims.Network, LoginAudience)
	}
	if !p.grants.spendChallenge(claims.Nonce, user) {
		return user, refusal("UnknownChallenge", "the challenge signed is unknown, used or expired: run \"switchboard portal login\" again")
	}
	keys, err := p.svc.Keys(ctx, user)
	if err != nil {
		return user, err
	}
	var ks []token.Key
	for _, k := range keys {
		pub, err := token.ParsePublicKeyPEM([]byte(k.PEM))
		if err != nil {
			return user, fmt.Errorf("key %s of user %q: %w", k.Fingerprint, user, err)
		}
		ks = append(ks, token.Key{ID: k.Fingerprint, Public: pub, Revoked: k.RevokedAt != nil})
	}
	if _, err := token.Verify(ctx, raw, token.StaticKeys{user: ks}, token.Expect{Network: LoginAudience, Now: p.now()}); err != nil {
		reason, _ := token.ReasonOf(err)
		return user, refusal(string(reason), "%v", err)
	}
	owned, err := p.svc.OwnedNetworks(ctx, user)
	if err != nil {
		return user, err
	}
	if len(owned) == 0 {
		return user, refusal("NotAnOwner", "user %q owns no network: an IDCO admin makes owners with \"switchboard-idco admin owner-add %s NETWORK\"", user, user)
	}
	return user, nil
}

func (p *Portal) loginPage(w http.ResponseWriter, r *http.Request) {
	p.render(w, http.StatusOK, "login", page{Title: "Sign in"})
}

// linkData is the data of the page that spends a one-time link.
type linkData struct {
	page
	User, Code string
}

// linkPage shows a sign-in button for a live link without spending it, so
// that a link preview or prefetch does not use it up.
func (p *Portal) linkPage(w http.ResponseWriter, r *http.Request) {
	user, ok := p.grants.peekLink(r.PathValue("code"))
	if !ok {
		p.fail(w, r, nil, http.StatusGone, "this sign-in link is unknown, used or expired: run \"switchboard portal login\" again for a new one")
		return
	}
	p.render(w, http.StatusOK, "link", linkData{page: page{Title: "Sign in"}, User: user, Code: r.PathValue("code")})
}

// spendLink spends a one-time link and starts the owner's session. The
// link's code, secret and single-use, stands in for the CSRF token.
func (p *Portal) spendLink(w http.ResponseWriter, r *http.Request) {
	if !sameOrigin(r) {
		p.fail(w, r, nil, http.StatusForbidden, "cross-site request refused: open the link in the browser yourself")
		return
	}
	user, ok := p.grants.spendLink(r.PathValue("code"))
	if !ok {
		p.fail(w, r, nil, http.StatusGone, "this sign-in link is unknown, used or expired: run \"switchboard portal login\" again for a new one")
		return
	}
	p.startSession(w, r, viewer{Name: user}, "one-time link")
}

// certificateLogin starts an admin's session from the admin client
// certificate the browser presented.
func (p *Portal) certificateLogin(w http.ResponseWriter, r *http.Request) {
	if r.TLS == nil || len(r.TLS.VerifiedChains) == 0 {
		p.fail(w, r, nil, http.StatusUnauthorized, "no client certificate: import an admin certificate from \"switchboard-idco enrol --admin NAME\" into the browser, or sign in as a network owner with \"switchboard portal login\"")
		return
	}
	id, err := pki.IdentityOf(r.TLS.VerifiedChains[0][0])
	if err != nil || id.Admin == "" {
		p.fail(w, r, nil, http.StatusForbidden, "the client certificate is not an admin's: use one from \"switchboard-idco enrol --admin NAME\"")
		return
	}
	p.startSession(w, r, viewer{Name: id.Admin, Admin: true}, "admin certificate")
}

// startSession starts v's session, audited as "portal-session" with how
// v signed in.
func (p *Portal) startSession(w http.ResponseWriter, r *http.Request, v viewer, how string) {
	e := idco.AuditEntry{Action: "portal-session", User: v.Name, Subject: how, Allowed: true}
	if err := p.svc.AuditEvent(idco.WithActor(r.Context(), v.actor()), e); err != nil {
		p.log.Error("audit portal session", "user", v.Name, "err", err)
		p.fail(w, r, nil, http.StatusInternalServerError, "internal error: see the IDCO's log")
		return
	}
	id, _ := p.grants.newSession(v, p.sessionTTL)
	http.SetCookie(w, &http.Cookie{Name: cookieName, Value: id, Path: "/", MaxAge: int(p.sessionTTL / time.Second),
		Secure: true, HttpOnly: true, SameSite: http.SameSiteStrictMode})
	p.log.Info("portal session started", "user", v.Name, "admin", v.Admin)
	http.Redirect(w, r, "/portal/", http.StatusSeeOther)
}

func (p *Portal) logout(w http.ResponseWriter, r *http.Request, s *session) {
	if c, err := r.Cookie(cookieName); err == nil {
		p.grants.endSession(c.Value)
	}
	http.SetCookie(w, &http.Cookie{Name: cookieName, Value: "", Path: "/", MaxAge: -1, Secure: true, HttpOnly: true, SameSite: http.SameSiteStrictMode})
	http.Redirect(w, r, "/portal/login", http.StatusSeeOther)
}

// sameOrigin reports whether a browser says the request comes from the
// portal's own pages; a client that sends no Sec-Fetch-Site (an old
// browser, curl) is judged by the CSRF token alone.
func sameOrigin(r *http.Request) bool {
	switch r.Header.Get("Sec-Fetch-Site") {
	case "", "same-origin":
		return true
	}
	return false
}

// withSession runs h with the request's live session. A request without
// one is sent to the login page (GET) or refused (POST); a POST must also
// carry the session's CSRF token and come from the portal's own pages.
func (p *Portal) withSession(h func(http.ResponseWriter, *http.Request, *session)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var s session
		ok := false
		if c, err := r.Cookie(cookieName); err == nil {
			s, ok = p.grants.session(c.Value)
		}
		if !ok {
			if r.Method == http.MethodGet {
				http.Redirect(w, r, "/portal/login", http.StatusSeeOther)
				return
			}
			p.fail(w, r, nil, http.StatusUnauthorized, "no session or it expired: sign in again")
			return
		}
		if r.Method == http.MethodPost {
			r.Body = http.MaxBytesReader(w, r.Body, maxForm)
			if err := r.ParseForm(); err != nil {
				p.fail(w, r, &s, http.StatusBadRequest, "read form: "+err.Error())
				return
			}
			if !sameOrigin(r) || !sameSecret(r.PostForm.Get("csrf"), s.csrf) {
				p.fail(w, r, &s, http.StatusForbidden, "the form's CSRF token is missing or wrong, or the request is cross-site: reload the page and try again")
				return
			}
		}
		ctx, cancel := context.WithTimeout(idco.WithActor(r.Context(), s.actor()), 15*time.Second)
		defer cancel()
		h(w, r.WithContext(ctx), &s)
	}
}
