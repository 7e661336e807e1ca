package portal_test

import (
	"context"
	"crypto"
	"crypto/tls"
	"encoding/json"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"switchboard/internal/idco"
	"switchboard/internal/idco/pki"
	"switchboard/internal/idco/portal"
	"switchboard/internal/idco/store"
	"switchboard/internal/token"
)

// fixture is a portal on a real Service and SQLite store, served over TLS
// by httptest, with networks blue (owned by alice) and red (owned by bob)
// registered in clusters east and west, and carol's pods authorized on
// both.
type fixture struct {
	t   testing.TB
	ctx context.Context
	db  *store.DB
	svc *idco.Service
	// pki is the directory of the CA that the server trusts for client
	// certificates.
	pki   string
	srv   *httptest.Server
	clock *clock
	keys  map[string]crypto.Signer
	fps   map[string]string
	// authz are the authorization IDs by network.
	authz map[string]string
}

// clock is the portal's adjustable time.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func newFixture(t testing.TB) *fixture {
	t.Helper()
	return newFixtureOn(t, filepath.Join(t.TempDir(), "idco.db"))
}

// newFixtureOn is newFixture on the database at dsn.
func newFixtureOn(t testing.TB, dsn string) *fixture {
	t.Helper()
	ctx := context.Background()
	db, err := store.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	f := &fixture{t: t, ctx: idco.WithActor(ctx, "admin/test"), db: db, svc: idco.New(db), clock: &clock{t: time.Now()},
		keys: map[string]crypto.Signer{}, fps: map[string]string{}, authz: map[string]string{}, pki: t.TempDir()}
	f.must(pki.Init(f.pki, []string{"127.0.0.1"}))
	serverTLS, err := pki.ServerTLS(f.pki)
	f.must(err)
	p := portal.New(f.svc, portal.WithClock(f.clock.now))
	f.srv = httptest.NewUnstartedServer(p.Handler())
	f.srv.TLS = &tls.Config{ClientAuth: tls.VerifyClientCertIfGiven, ClientCAs: serverTLS.ClientCAs}
	f.srv.StartTLS()
	t.Cleanup(f.srv.Close)
	for _, u := range []string{"alice", "bob", "carol", "dave", "erin"} {
		f.addUser(u)
	}
	f.must(f.svc.AddOwner(f.ctx, "alice", "blue"))
	f.must(f.svc.AddOwner(f.ctx, "bob", "red"))
	for _, n := range []string{"blue", "red"} {
		for i, c := range []string{"east", "west"} {
			_, err := f.svc.RegisterNetwork(f.ctx, idco.Registration{Cluster: c, Network: n, Namespace: "default", Name: n,
				LocalVNI: uint32(100 + i), AccessList: []idco.AccessEntry{{User: "carol", PublicKeyPEM: f.pem("carol")}}})
			f.must(err)
		}
		d := f.authorize("carol", n, "pod-"+n)
		if !d.Allowed {
			t.Fatalf("carol on %s refused: %s", n, d.Detail)
		}
		f.authz[n] = d.AuthorizationID
		if d := f.authorize("dave", n, "intruder-"+n); d.Allowed {
			t.Fatalf("dave on %s allowed, want NotInAccessList", n)
		}
	}
	return f
}

func (f *fixture) must(err error) {
	f.t.Helper()
	if err != nil {
		f.t.Fatal(err)
	}
}

func (f *fixture) addUser(name string) {
	f.t.Helper()
	k, err := token.GenerateKey(token.AlgEd25519)
	f.must(err)
	f.keys[name] = k
	f.must(f.svc.AddUser(f.ctx, name))
	fp, err := f.svc.AddKey(f.ctx, name, []byte(f.pem(name)))
	f.must(err)
	f.fps[name] = fp
}

func (f *fixture) pem(user string) string {
	b, err := token.MarshalPublicKeyPEM(f.keys[user].Public())
	f.must(err)
	return string(b)
}

func (f *fixture) authorize(user, network, pod string) idco.Decision {
	f.t.Helper()
	raw, err := token.Sign(token.Claims{Network: network, User: user, Expiry: time.Now().Add(time.Hour)}, f.keys[user])
	f.must(err)
	d, err := f.svc.Authorize(f.ctx, idco.AuthorizeRequest{Cluster: "east", Network: network, Namespace: "default", Pod: pod, Token: raw})
	f.must(err)
	return d
}

// link asks for a one-time link as user, signing with key.
func (f *fixture) link(user string, key crypto.Signer) (string, error) {
	l, err := portal.RequestLink(f.ctx, f.srv.Client(), f.srv.URL, user, key)
	return l.Link, err
}

// browser is an HTTP client with its own cookie jar that does not follow
// redirects, so tests see each answer.
type browser struct {
	f  *fixture
	hc *http.Client
}

func (f *fixture) browser() *browser {
	jar, _ := cookiejar.New(nil)
	hc := &http.Client{Jar: jar, Transport: f.srv.Client().Transport,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	return &browser{f: f, hc: hc}
}

// login signs user in through a one-time link and returns the browser.
func (f *fixture) login(user string) *browser {
	f.t.Helper()
	link, err := f.link(user, f.keys[user])
	f.must(err)
	b := f.browser()
	if st, body := b.get(link); st != http.StatusOK || !strings.Contains(body, "Sign in as "+user) {
		f.t.Fatalf("link page: %d %s", st, body)
	}
	if st, _ := b.post(link, nil); st != http.StatusSeeOther {
		f.t.Fatalf("spend link: %d", st)
	}
	return b
}

// certificate enrols a client certificate of the fixture's CA.
func (f *fixture) certificate(id pki.Identity) tls.Certificate {
	f.t.Helper()
	out := filepath.Join(f.t.TempDir(), "client")
	f.must(pki.Enrol(f.pki, out, id))
	c, err := tls.LoadX509KeyPair(filepath.Join(out, pki.ClientCert), filepath.Join(out, pki.ClientKey))
	f.must(err)
	return c
}

// insert stores authorizations directly (pagination and benchmarks).
func (f *fixture) insert(as []idco.Authorization) {
	f.t.Helper()
	f.must(f.db.Update(f.ctx, func(tx idco.Tx) error { return tx.InsertAuthorization(f.ctx, as...) }))
}

// certBrowser is a browser that presents a client certificate.
func (f *fixture) certBrowser(cert tls.Certificate) *browser {
	b := f.browser()
	tr := f.srv.Client().Transport.(*http.Transport).Clone()
	tr.TLSClientConfig.Certificates = []tls.Certificate{cert}
	b.hc.Transport = tr
	return b
}

func (b *browser) url(path string) string {
	if strings.HasPrefix(path, "https://") {
		return path
	}
	return b.f.srv.URL + path
}

func (b *browser) do(req *http.Request) (int, string, http.Header) {
	b.f.t.Helper()
	resp, err := b.hc.Do(req)
	b.f.must(err)
	defer resp.Body.Close()
	var sb strings.Builder
	buf := make([]byte, 32<<10)
	for {
		n, err := resp.Body.Read(buf)
		sb.Write(buf[:n])
		if err != nil {
			break
		}
	}
	return resp.StatusCode, sb.String(), resp.Header
}

func (b *browser) get(path string) (int, string) {
	b.f.t.Helper()
	req, _ := http.NewRequest(http.MethodGet, b.url(path), nil)
	st, body, _ := b.do(req)
	return st, body
}

// post sends a form; extra headers are name, value pairs.
func (b *browser) post(path string, form url.Values, headers ...string) (int, string) {
	b.f.t.Helper()
	req, _ := http.NewRequest(http.MethodPost, b.url(path), strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	st, body, _ := b.do(req)
	return st, body
}

var csrfField = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// csrf reads the session's CSRF token from a page.
func (b *browser) csrf() string {
	b.f.t.Helper()
	st, body := b.get("/portal/")
	m := csrfField.FindStringSubmatch(body)
	if st != http.StatusOK || m == nil {
		b.f.t.Fatalf("no CSRF token on the overview: %d", st)
	}
	return m[1]
}

func decode(resp *http.Response, v any) error { return json.NewDecoder(resp.Body).Decode(v) }
