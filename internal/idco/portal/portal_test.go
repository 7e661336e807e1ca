package portal_test

import (
	"fmt"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"switchboard/internal/idco"
	"switchboard/internal/idco/pki"
)

// TestOwnerSeesOwnNetworksOnly signs alice in with a signed challenge and
// checks that every page shows blue's clusters, access list,
// authorizations, refusals and audit, and nothing of bob's red.
func TestOwnerSeesOwnNetworksOnly(t *testing.T) {
	f := newFixture(t)
	f.must(f.svc.AddOwner(f.ctx, "alice", "green")) // not registered yet
	b := f.login("alice")
	for _, tc := range []struct {
		path       string
		want, omit []string
	}{
		{"/portal/", []string{"owner alice", "blue", "east", "west", "default/blue", "You own green, which no cluster has registered yet"}, []string{">red<"}},
		{"/portal/networks/blue", []string{"carol", f.fps["carol"], "Grant"}, nil},
		{"/portal/users", []string{"alice", "carol", f.fps["alice"]}, []string{">bob<", ">dave<"}},
		{"/portal/authorizations", []string{f.authz["blue"], "default/pod-blue", "End…"}, []string{f.authz["red"], "pod-red"}},
		{"/portal/refused", []string{"intruder-blue", "NotInAccessList"}, []string{"intruder-red"}},
		{"/portal/audit", []string{"register-network", "blue", "authorize"}, []string{"intruder-red", "pod-red"}},
	} {
		st, body := b.get(tc.path)
		if st != http.StatusOK {
			t.Errorf("GET %s: %d, want 200: %s", tc.path, st, body)
			continue
		}
		body = html.UnescapeString(body)
		for _, w := range tc.want {
			if !strings.Contains(body, w) {
				t.Errorf("GET %s: no %q", tc.path, w)
			}
		}
		for _, o := range tc.omit {
			if strings.Contains(body, o) {
				t.Errorf("GET %s shows %q, which is not alice's", tc.path, o)
			}
		}
	}
}

// TestSecurityHeaders checks the headers of every kind of answer and the
// session cookie's attributes.
func TestSecurityHeaders(t *testing.T) {
	f := newFixture(t)
	link, err := f.link("alice", f.keys["alice"])
	f.must(err)
	b := f.browser()
	req, _ := http.NewRequest(http.MethodPost, link, nil)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := b.hc.Do(req)
	f.must(err)
	resp.Body.Close()
	var cookie *http.Cookie
	for _, c := range resp.Cookies() {
		if c.Name == "__Host-switchboard-portal" {
			cookie = c
		}
	}
	if cookie == nil || !cookie.HttpOnly || !cookie.Secure || cookie.SameSite != http.SameSiteStrictMode || cookie.Path != "/" {
		t.Fatalf("session cookie %+v, want __Host-switchboard-portal HttpOnly Secure SameSite=Strict Path=/", cookie)
	}
	for _, path := range []string{"/portal/", "/portal/login", "/portal/audit", "/portal/networks/red", "/portal/static/style.css", "/portal/login/link/nope"} {
		req, _ := http.NewRequest(http.MethodGet, b.url(path), nil)
		_, _, h := b.do(req)
		csp := h.Get("Content-Security-Policy")
		for _, d := range []string{"default-src 'none'", "frame-ancestors 'none'", "form-action 'self'"} {
			if !strings.Contains(csp, d) {
				t.Errorf("GET %s: Content-Security-Policy %q lacks %s", path, csp, d)
			}
		}
		if strings.Contains(csp, "script-src") || strings.Contains(csp, "unsafe") {
			t.Errorf("GET %s: Content-Security-Policy %q allows script", path, csp)
		}
		if h.Get("X-Frame-Options") != "DENY" || h.Get("X-Content-Type-Options") != "nosniff" || h.Get("Referrer-Policy") != "no-referrer" {
			t.Errorf("GET %s: headers %v", path, h)
		}
	}
}

// TestOwnerActions ends an authorization, grants and takes back a
// permission and revokes the owner's own key, each after a confirmation
// page, and checks the service state and the audit actor.
func TestOwnerActions(t *testing.T) {
	f := newFixture(t)
	b := f.login("alice")
	csrf := b.csrf()
	id := f.authz["blue"]

	st, body := b.get("/portal/actions/end-authorization?id=" + id)
	if st != http.StatusOK || !strings.Contains(body, "pod default/pod-blue of cluster east") || !strings.Contains(body, `id="confirm"`) {
		t.Fatalf("confirmation page: %d %s", st, body)
	}
	if a, _ := f.svc.Authorization(f.ctx, id); a.RevokedAt != nil {
		t.Fatal("the confirmation page ended the authorization")
	}
	if st, _ := b.post("/portal/actions/end-authorization", url.Values{"id": {id}, "csrf": {csrf}}); st != http.StatusSeeOther {
		t.Fatalf("end authorization: %d", st)
	}
	a, err := f.svc.Authorization(f.ctx, id)
	f.must(err)
	if a.RevokedAt == nil || a.RevokedReason != idco.ReasonEnded {
		t.Fatalf("authorization after End: %+v, want ended with %s", a, idco.ReasonEnded)
	}
	if _, body := b.get("/portal/authorizations"); strings.Contains(body, id) {
		t.Error("the ended authorization is still listed as active")
	}
	if _, body := b.get("/portal/authorizations?state=ended"); !strings.Contains(body, id) || !strings.Contains(body, idco.ReasonEnded) {
		t.Error("the ended authorization is not listed as ended with its reason")
	}
	es, err := f.svc.Audit(f.ctx, idco.AuditFilter{Action: "revoke-authorization", Limit: 1})
	f.must(err)
	if len(es) != 1 || es[0].Actor != "portal/owner/alice" || !strings.Contains(es[0].Subject, id) {
		t.Errorf("audit of the end: %+v, want actor portal/owner/alice", es)
	}

	if st, _ := b.post("/portal/actions/grant", url.Values{"user": {"erin"}, "network": {"blue"}, "csrf": {csrf}}); st != http.StatusSeeOther {
		t.Fatalf("grant: %d", st)
	}
	if _, body := b.get("/portal/networks/blue"); !strings.Contains(body, "erin") {
		t.Error("the granted user is not listed on the network page")
	}
	if st, _ := b.post("/portal/actions/revoke-permission", url.Values{"user": {"erin"}, "network": {"blue"}, "csrf": {csrf}}); st != http.StatusSeeOther {
		t.Fatalf("revoke permission: %d", st)
	}
	if _, body := b.get("/portal/networks/blue"); strings.Contains(body, "erin") {
		t.Error("the permission taken back is still listed")
	}
	if st, _ := b.post("/portal/actions/revoke-key", url.Values{"fingerprint": {f.fps["alice"]}, "csrf": {csrf}}); st != http.StatusSeeOther {
		t.Fatalf("revoke own key: %d", st)
	}
	if k, _ := f.svc.Key(f.ctx, f.fps["alice"]); k.RevokedAt == nil {
		t.Error("alice's key is not revoked")
	}
	if _, err := f.link("alice", f.keys["alice"]); err == nil || !strings.Contains(err.Error(), "revoked") {
		t.Errorf("login with the revoked key: %v, want a refusal naming the revocation", err)
	}
}

// TestAdminCertificate signs an admin in with a client certificate: the
// admin sees every network; a cluster's certificate is refused.
func TestAdminCertificate(t *testing.T) {
	f := newFixture(t)
	admin := f.certBrowser(f.certificate(pki.Identity{Admin: "root"}))
	if st, _ := admin.get("/portal/login/certificate"); st != http.StatusSeeOther {
		t.Fatalf("admin certificate login: %d, want 303", st)
	}
	es, err := f.svc.Audit(f.ctx, idco.AuditFilter{Action: "portal-session", Limit: 1})
	f.must(err)
	if len(es) != 1 || es[0].Actor != "portal/admin/root" || es[0].Subject != "admin certificate" {
		t.Errorf("audit of the admin's sign-in: %+v", es)
	}
	st, body := admin.get("/portal/")
	if st != http.StatusOK || !strings.Contains(body, "admin root") || !strings.Contains(body, ">red<") || !strings.Contains(body, ">blue<") {
		t.Fatalf("admin overview: %d %s", st, body)
	}
	cluster := f.certBrowser(f.certificate(pki.Identity{Cluster: "east"}))
	if st, _ := cluster.get("/portal/login/certificate"); st != http.StatusForbidden {
		t.Errorf("cluster certificate login: %d, want 403", st)
	}
	if st, _ := f.browser().get("/portal/login/certificate"); st != http.StatusUnauthorized {
		t.Errorf("login without a certificate: %d, want 401", st)
	}
}

// TestPagination walks the active authorizations of an owner of two
// networks page by page: every row once, newest first across both
// networks (the pages merge one query per network).
func TestPagination(t *testing.T) {
	f := newFixture(t)
	f.must(f.svc.AddOwner(f.ctx, "alice", "red"))
	now := time.Now()
	var as []idco.Authorization
	for i := range 3*idco.DefaultPageSize + 7 {
		network := []string{"blue", "red"}[i%2]
		as = append(as, idco.Authorization{ID: fmt.Sprintf("az%04d", i), Network: network, Cluster: "west",
			Namespace: "default", Pod: "p" + strconv.Itoa(i), User: "carol", KeyID: f.fps["carol"], Nonce: "n" + strconv.Itoa(i),
			CreatedAt: now.Add(time.Duration(i%40) * time.Second), Expires: now.Add(time.Hour)})
	}
	f.insert(as)
	want := slices.Clone(as)
	slices.SortFunc(want, func(a, b idco.Authorization) int {
		if c := b.CreatedAt.Compare(a.CreatedAt); c != 0 {
			return c
		}
		return strings.Compare(b.ID, a.ID)
	})
	b := f.login("alice")
	var walked []string
	path, pages := "/portal/authorizations", 0
	for path != "" {
		st, body := b.get(path)
		if st != http.StatusOK {
			t.Fatalf("GET %s: %d", path, st)
		}
		pages++
		for _, m := range authzRow.FindAllStringSubmatch(body, -1) {
			walked = append(walked, m[1])
		}
		path = ""
		if m := nextLink.FindStringSubmatch(body); m != nil {
			path = strings.ReplaceAll(m[1], "&amp;", "&")
		}
	}
	// The fixture's own two authorizations are older than the inserted.
	if len(walked) != len(as)+2 || pages != 4 {
		t.Fatalf("walked %d authorizations in %d pages, want %d in 4", len(walked), pages, len(as)+2)
	}
	for i, a := range want {
		if walked[i] != a.ID {
			t.Fatalf("row %d is %s, want %s (newest first)", i, walked[i], a.ID)
		}
	}
}

var (
	authzRow = regexp.MustCompile(`id="authz-([^"]+)"`)
	nextLink = regexp.MustCompile(`id="next" href="([^"]+)"`)
)
