package portal

import (
	"bytes"
	"context"
	"embed"
	"errors"
	"html/template"
	"log/slog"
	"net/http"
	"time"

	"switchboard/internal/idco"
)

// Prefix is where the portal is served on the IDCO.
const Prefix = "/portal/"

// Lifetimes of the portal's secrets.
const (
	ChallengeTTL = 2 * time.Minute
	LinkTTL      = 5 * time.Minute
	SessionTTL   = 30 * time.Minute
)

// LoginAudience is the "network" of the token that signs a login
// challenge. It holds a colon, so no inter-cluster network can bear the
// name and a login token can never admit a pod anywhere.
const LoginAudience = "switchboard-portal:login"

// maxPending bounds the challenges and links waiting to be spent, so that
// anonymous requests cannot grow the IDCO's memory without end.
const maxPending = 10000

//go:embed templates/*.html static/*
var files embed.FS

// Portal serves the portal's pages. Create it with New; it is safe for
// concurrent use.
type Portal struct {
	svc        *idco.Service
	log        *slog.Logger
	now        func() time.Time
	sessionTTL time.Duration
	linkTTL    time.Duration
	grants     *grants
	pages      map[string]*template.Template
	mux        *http.ServeMux
}

// Option configures a Portal.
type Option func(*Portal)

// WithLogger sets the logger; the default discards.
func WithLogger(l *slog.Logger) Option { return func(p *Portal) { p.log = l } }

// WithClock sets the source of the current time (tests).
func WithClock(now func() time.Time) Option { return func(p *Portal) { p.now = now } }

// WithSessionTTL sets how long a session lasts (default SessionTTL).
func WithSessionTTL(d time.Duration) Option { return func(p *Portal) { p.sessionTTL = d } }

// WithLinkTTL sets how long a one-time login link stays valid (default
// LinkTTL).
func WithLinkTTL(d time.Duration) Option { return func(p *Portal) { p.linkTTL = d } }

// New returns the portal of svc.
func New(svc *idco.Service, opts ...Option) *Portal {
	p := &Portal{svc: svc, log: slog.New(slog.DiscardHandler), now: time.Now, sessionTTL: SessionTTL, linkTTL: LinkTTL,
		mux: http.NewServeMux()}
	for _, o := range opts {
		o(p)
	}
	p.grants = newGrants(p.now)
	p.pages = parsePages()
	p.routes()
	return p
}

// Handler returns the portal's handler, to serve at Prefix on the IDCO's
// TLS listener. Every answer carries the portal's security headers.
func (p *Portal) Handler() http.Handler { return secured(p.mux) }

func (p *Portal) routes() {
	p.mux.Handle("GET /portal/static/", http.StripPrefix("/portal/", http.FileServerFS(files)))
	// Login, for people without a session.
	p.mux.HandleFunc("GET /portal/login", p.loginPage)
	p.mux.HandleFunc("POST /portal/api/challenge", p.newChallenge)
	p.mux.HandleFunc("POST /portal/api/link", p.newLink)
	p.mux.HandleFunc("GET /portal/login/link/{code}", p.linkPage)
	p.mux.HandleFunc("POST /portal/login/link/{code}", p.spendLink)
	p.mux.HandleFunc("GET /portal/login/certificate", p.certificateLogin)
	// Pages and actions, with a session.
	p.mux.HandleFunc("POST /portal/logout", p.withSession(p.logout))
	p.mux.HandleFunc("GET /portal/{$}", p.withSession(p.overview))
	p.mux.HandleFunc("GET /portal/networks/{network}", p.withSession(p.network))
	p.mux.HandleFunc("GET /portal/users", p.withSession(p.users))
	p.mux.HandleFunc("GET /portal/authorizations", p.withSession(p.authorizations))
	p.mux.HandleFunc("GET /portal/refused", p.withSession(p.refused))
	p.mux.HandleFunc("GET /portal/audit", p.withSession(p.audit))
	p.mux.HandleFunc("GET /portal/actions/{action}", p.withSession(p.confirm))
	p.mux.HandleFunc("POST /portal/actions/{action}", p.withSession(p.act))
}

// contentSecurityPolicy allows no script at all, styles and images only
// from the portal, forms only to it, and no framing.
const contentSecurityPolicy = "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; " +
	"frame-ancestors 'none'; base-uri 'none'"

// secured sets the security headers on every answer.
func secured(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hd := w.Header()
		hd.Set("Content-Security-Policy", contentSecurityPolicy)
		hd.Set("X-Frame-Options", "DENY")
		hd.Set("X-Content-Type-Options", "nosniff")
		hd.Set("Referrer-Policy", "no-referrer")
		hd.Set("Cache-Control", "no-store")
		hd.Set("Cross-Origin-Opener-Policy", "same-origin")
		h.ServeHTTP(w, r)
	})
}

// render executes page into a buffer first, so that a template error
// answers 500 instead of half a page.
func (p *Portal) render(w http.ResponseWriter, status int, page string, data any) {
	var b bytes.Buffer
	if err := p.pages[page].ExecuteTemplate(&b, "layout", data); err != nil {
		p.log.Error("render portal page", "page", page, "err", err)
		http.Error(w, "internal error: see the IDCO's log", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	b.WriteTo(w)
}

// problem is the data of the error page.
type problem struct {
	page
	Status  int
	Message string
}

// fail answers an error page; unexpected errors are logged and answered
// without detail.
func (p *Portal) fail(w http.ResponseWriter, r *http.Request, s *session, status int, msg string) {
	pg := page{Title: http.StatusText(status)}
	if s != nil {
		pg = p.pageOf(s, http.StatusText(status))
	}
	p.render(w, status, "problem", problem{page: pg, Status: status, Message: msg})
}

// failErr answers a service error with its status.
func (p *Portal) failErr(w http.ResponseWriter, r *http.Request, s *session, err error) {
	switch {
	case errors.Is(err, idco.ErrInvalid):
		p.fail(w, r, s, http.StatusBadRequest, err.Error())
	case errors.Is(err, idco.ErrNotFound):
		p.fail(w, r, s, http.StatusNotFound, err.Error())
	case errors.Is(err, idco.ErrConflict):
		p.fail(w, r, s, http.StatusConflict, err.Error())
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled):
		p.fail(w, r, s, http.StatusServiceUnavailable, "the request timed out or was cancelled")
	default:
		p.log.Error("portal request failed", "method", r.Method, "path", r.URL.Path, "err", err)
		p.fail(w, r, s, http.StatusInternalServerError, "internal error: see the IDCO's log")
	}
}

func parsePages() map[string]*template.Template {
	funcs := template.FuncMap{
		"time": func(t time.Time) string {
			if t.IsZero() {
				return ""
			}
			return t.UTC().Format("2006-01-02 15:04:05Z")
		},
		"timeptr": func(t *time.Time) string {
			if t == nil {
				return ""
			}
			return t.UTC().Format("2006-01-02 15:04:05Z")
		},
	}
	base := template.Must(template.New("").Funcs(funcs).ParseFS(files, "templates/layout.html"))
	names, _ := files.ReadDir("templates")
	pages := map[string]*template.Template{}
	for _, n := range names {
		name := n.Name()
		if name == "layout.html" {
			continue
		}
		t := template.Must(template.Must(base.Clone()).ParseFS(files, "templates/"+name))
		pages[name[:len(name)-len(".html")]] = t
	}
	return pages
}
