package portal

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"switchboard/internal/idco"
)

// page is what every page's layout needs.
type page struct {
	Title  string
	Viewer *viewer
	CSRF   string
	// Done says which action just succeeded (see doneMessages).
	Done string
}

func (p *Portal) pageOf(s *session, title string) page {
	return page{Title: title, Viewer: &s.viewer, CSRF: s.csrf}
}

// owner is the Owner filter of the viewer's queries: empty for an admin,
// who sees everything.
func owner(s *session) string {
	if s.Admin {
		return ""
	}
	return s.Name
}

// mayManage reports whether the viewer may see and act on network.
func (p *Portal) mayManage(r *http.Request, s *session, network string) (bool, error) {
	if s.Admin {
		return true, nil
	}
	return p.svc.Owns(r.Context(), s.Name, network)
}

func (p *Portal) notYours(w http.ResponseWriter, r *http.Request, s *session, network string) {
	p.fail(w, r, s, http.StatusForbidden, fmt.Sprintf("you (%s) do not own network %q: ask an IDCO admin to make you an owner", s.Name, network))
}

// networkFilter refuses a ?network= filter naming a network the viewer
// does not own (the owner scope would show nothing anyway: the refusal
// says why).
func (p *Portal) networkFilter(w http.ResponseWriter, r *http.Request, s *session, network string) bool {
	if network == "" {
		return true
	}
	ok, err := p.mayManage(r, s, network)
	switch {
	case err != nil:
		p.failErr(w, r, s, err)
	case !ok:
		p.notYours(w, r, s, network)
	}
	return err == nil && ok
}

type overviewData struct {
	page
	Networks []idco.NetworkView
	// Unregistered are networks the owner owns that no cluster registered
	// yet.
	Unregistered []string
}

func (p *Portal) overview(w http.ResponseWriter, r *http.Request, s *session) {
	ns, err := p.svc.Networks(r.Context(), owner(s))
	if err != nil {
		p.failErr(w, r, s, err)
		return
	}
	d := overviewData{page: p.pageOf(s, "Networks")}
	d.Done = doneOf(r)
	for _, n := range ns {
		v, err := p.svc.NetworkView(r.Context(), n.Name)
		if err != nil {
			p.failErr(w, r, s, err)
			return
		}
		d.Networks = append(d.Networks, v)
	}
	if !s.Admin {
		owned, err := p.svc.OwnedNetworks(r.Context(), s.Name)
		if err != nil {
			p.failErr(w, r, s, err)
			return
		}
		for _, n := range owned {
			if !slices.ContainsFunc(ns, func(x idco.Network) bool { return x.Name == n }) {
				d.Unregistered = append(d.Unregistered, n)
			}
		}
	}
	p.render(w, http.StatusOK, "overview", d)
}

type networkData struct {
	page
	idco.NetworkView
}

func (p *Portal) network(w http.ResponseWriter, r *http.Request, s *session) {
	name := r.PathValue("network")
	if ok, err := p.mayManage(r, s, name); err != nil || !ok {
		if err != nil {
			p.failErr(w, r, s, err)
		} else {
			p.notYours(w, r, s, name)
		}
		return
	}
	v, err := p.svc.NetworkView(r.Context(), name)
	if err != nil {
		p.failErr(w, r, s, err)
		return
	}
	d := networkData{page: p.pageOf(s, "Network "+name), NetworkView: v}
	d.Done = doneOf(r)
	p.render(w, http.StatusOK, "network", d)
}

// userKeys is one user and their keys, with whether the viewer may revoke
// them.
type userKeys struct {
	User      string
	Keys      []idco.Key
	MayRevoke bool
}

type usersData struct {
	page
	Users []userKeys
}

// users lists users and keys: every user for an admin; for an owner, the
// owner and the users on their networks' access lists and permissions.
// Only an admin, or the key's own user, may revoke a key (it counts on
// every network).
func (p *Portal) users(w http.ResponseWriter, r *http.Request, s *session) {
	names, err := p.visibleUsers(r, s)
	if err != nil {
		p.failErr(w, r, s, err)
		return
	}
	d := usersData{page: p.pageOf(s, "Users and keys")}
	d.Done = doneOf(r)
	for _, u := range names {
		ks, err := p.svc.Keys(r.Context(), u)
		if err != nil {
			p.failErr(w, r, s, err)
			return
		}
		d.Users = append(d.Users, userKeys{User: u, Keys: ks, MayRevoke: s.Admin || u == s.Name})
	}
	p.render(w, http.StatusOK, "users", d)
}

func (p *Portal) visibleUsers(r *http.Request, s *session) ([]string, error) {
	if s.Admin {
		return p.svc.Users(r.Context())
	}
	ns, err := p.svc.Networks(r.Context(), s.Name)
	if err != nil {
		return nil, err
	}
	seen := []string{s.Name}
	for _, n := range ns {
		v, err := p.svc.NetworkView(r.Context(), n.Name)
		if err != nil {
			return nil, err
		}
		seen = append(seen, v.Permitted...)
		for _, reg := range v.Registrations {
			for _, e := range reg.AccessList {
				seen = append(seen, e.User)
			}
		}
	}
	slices.Sort(seen)
	return slices.Compact(seen), nil
}

type authorizationsData struct {
	page
	Ended          bool
	Network        string
	Authorizations []idco.Authorization
	Next           string
}

// authorizations lists active (or, with ?state=ended, ended)
// authorizations a page at a time, newest first; ?after= is the cursor
// of the page's "next" link.
func (p *Portal) authorizations(w http.ResponseWriter, r *http.Request, s *session) {
	q := r.URL.Query()
	aq := idco.AuthorizationQuery{Owner: owner(s), Network: q.Get("network"), Ended: q.Get("state") == "ended"}
	if !p.networkFilter(w, r, s, aq.Network) {
		return
	}
	if v := q.Get("after"); v != "" {
		c, err := parseCursor(v)
		if err != nil {
			p.fail(w, r, s, http.StatusBadRequest, err.Error())
			return
		}
		aq.After = c
	}
	as, err := p.svc.AuthorizationPage(r.Context(), aq)
	if err != nil {
		p.failErr(w, r, s, err)
		return
	}
	title := "Active authorizations"
	if aq.Ended {
		title = "Ended authorizations"
	}
	d := authorizationsData{page: p.pageOf(s, title), Ended: aq.Ended, Network: aq.Network, Authorizations: as}
	d.Done = doneOf(r)
	if len(as) == idco.DefaultPageSize {
		next := url.Values{"after": {formatCursor(idco.CursorOf(as[len(as)-1]))}}
		if aq.Ended {
			next.Set("state", "ended")
		}
		if aq.Network != "" {
			next.Set("network", aq.Network)
		}
		d.Next = "/portal/authorizations?" + next.Encode()
	}
	p.render(w, http.StatusOK, "authorizations", d)
}

// formatCursor writes a cursor as UNIXNANOS~ID.
func formatCursor(c *idco.AuthorizationCursor) string {
	return strconv.FormatInt(c.CreatedAt.UnixNano(), 10) + "~" + c.ID
}

func parseCursor(v string) (*idco.AuthorizationCursor, error) {
	ns, id, ok := strings.Cut(v, "~")
	n, err := strconv.ParseInt(ns, 10, 64)
	if !ok || err != nil || id == "" {
		return nil, fmt.Errorf("after %q is not a page cursor: follow the page's \"next\" link", v)
	}
	return &idco.AuthorizationCursor{CreatedAt: time.Unix(0, n).UTC(), ID: id}, nil
}

type auditData struct {
	page
	Refused bool
	Entries []idco.AuditEntry
	Next    string
}

func (p *Portal) refused(w http.ResponseWriter, r *http.Request, s *session) {
	p.auditPage(w, r, s, idco.AuditFilter{Action: "authorize", Refused: true}, "Refused authorizations", "/portal/refused")
}

func (p *Portal) audit(w http.ResponseWriter, r *http.Request, s *session) {
	p.auditPage(w, r, s, idco.AuditFilter{Network: r.URL.Query().Get("network")}, "Audit log", "/portal/audit")
}

// auditPage lists audit entries newest first, a page at a time: an owner
// sees those of the networks they own.
func (p *Portal) auditPage(w http.ResponseWriter, r *http.Request, s *session, f idco.AuditFilter, title, path string) {
	f.Owner, f.Limit = owner(s), idco.DefaultPageSize
	if !p.networkFilter(w, r, s, f.Network) {
		return
	}
	if v := r.URL.Query().Get("before"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 1 {
			p.fail(w, r, s, http.StatusBadRequest, fmt.Sprintf("before %q is not an audit entry ID: follow the page's \"next\" link", v))
			return
		}
		f.BeforeID = n
	}
	es, err := p.svc.Audit(r.Context(), f)
	if err != nil {
		p.failErr(w, r, s, err)
		return
	}
	d := auditData{page: p.pageOf(s, title), Refused: f.Refused, Entries: es}
	if len(es) == f.Limit {
		next := url.Values{"before": {strconv.FormatInt(es[len(es)-1].ID, 10)}}
		if f.Network != "" {
			next.Set("network", f.Network)
		}
		d.Next = path + "?" + next.Encode()
	}
	p.render(w, http.StatusOK, "audit", d)
}
