package portal

import (
	"fmt"
	"net/http"
	"net/url"
)

// An action is something the portal changes. Each one is shown on a
// confirmation page (GET /portal/actions/NAME?...) whose form POSTs the
// same parameters with the CSRF token; check runs on both, so the page
// never offers what the POST would refuse.
type action struct {
	// params are the form fields the action takes.
	params []string
	// check says what the action will do, or refuses it; it also checks
	// that the viewer may do it.
	check func(p *Portal, r *http.Request, s *session, v url.Values) (summary string, status int, err error)
	// do carries the action out through the idco.Service, as the admin
	// API does.
	do func(p *Portal, r *http.Request, s *session, v url.Values) error
	// back is where to go after it.
	back func(v url.Values) string
}

var actions = map[string]action{
	"grant": {
		params: []string{"user", "network"},
		check: func(p *Portal, r *http.Request, s *session, v url.Values) (string, int, error) {
			if st, err := p.checkNetwork(r, s, v.Get("network")); err != nil {
				return "", st, err
			}
			return fmt.Sprintf("Let user %s join network %s in the clusters that leave its access list open.", v.Get("user"), v.Get("network")), 0, nil
		},
		do: func(p *Portal, r *http.Request, s *session, v url.Values) error {
			return p.svc.Grant(r.Context(), v.Get("user"), v.Get("network"))
		},
		back: func(v url.Values) string { return "/portal/networks/" + url.PathEscape(v.Get("network")) },
	},
	"revoke-permission": {
		params: []string{"user", "network"},
		check: func(p *Portal, r *http.Request, s *session, v url.Values) (string, int, error) {
			if st, err := p.checkNetwork(r, s, v.Get("network")); err != nil {
				return "", st, err
			}
			return fmt.Sprintf("Take back user %s's permission on network %s, and end the user's authorizations there that relied on it.",
				v.Get("user"), v.Get("network")), 0, nil
		},
		do: func(p *Portal, r *http.Request, s *session, v url.Values) error {
			return p.svc.RevokePermission(r.Context(), v.Get("user"), v.Get("network"))
		},
		back: func(v url.Values) string { return "/portal/networks/" + url.PathEscape(v.Get("network")) },
	},
	"revoke-key": {
		params: []string{"fingerprint"},
		check: func(p *Portal, r *http.Request, s *session, v url.Values) (string, int, error) {
			k, err := p.svc.Key(r.Context(), v.Get("fingerprint"))
			if err != nil {
				return "", 0, err
			}
			if !s.Admin && k.User != s.Name {
				return "", http.StatusForbidden, fmt.Errorf("key %s is user %s's, not yours (%s): only its user or an IDCO admin may revoke it", k.Fingerprint, k.User, s.Name)
			}
			if k.RevokedAt != nil {
				return "", http.StatusConflict, fmt.Errorf("key %s was already revoked", k.Fingerprint)
			}
			return fmt.Sprintf("Revoke user %s's key %s on every network, and end every authorization made with it.", k.User, k.Fingerprint), 0, nil
		},
		do: func(p *Portal, r *http.Request, s *session, v url.Values) error {
			return p.svc.RevokeKey(r.Context(), v.Get("fingerprint"))
		},
		back: func(url.Values) string { return "/portal/users" },
	},
	"end-authorization": {
		params: []string{"id"},
		check: func(p *Portal, r *http.Request, s *session, v url.Values) (string, int, error) {
			a, err := p.svc.Authorization(r.Context(), v.Get("id"))
			if err != nil {
				return "", 0, err
			}
			if st, err := p.checkNetwork(r, s, a.Network); err != nil {
				return "", st, err
			}
			if a.RevokedAt != nil {
				return "", http.StatusConflict, fmt.Errorf("authorization %s already ended (%s)", a.ID, a.RevokedReason)
			}
			return fmt.Sprintf("End authorization %s: pod %s/%s of cluster %s (user %s) loses network %s.",
				a.ID, a.Namespace, a.Pod, a.Cluster, a.User, a.Network), 0, nil
		},
		do: func(p *Portal, r *http.Request, s *session, v url.Values) error {
			return p.svc.EndAuthorization(r.Context(), v.Get("id"), "ended in the portal by "+s.actor())
		},
		back: func(url.Values) string { return "/portal/authorizations" },
	},
}

// checkNetwork refuses an action on a network the viewer does not own.
func (p *Portal) checkNetwork(r *http.Request, s *session, network string) (int, error) {
	ok, err := p.mayManage(r, s, network)
	if err != nil {
		return 0, err
	}
	if !ok {
		return http.StatusForbidden, fmt.Errorf("you (%s) do not own network %q: ask an IDCO admin to make you an owner", s.Name, network)
	}
	return 0, nil
}

// doneMessages are the notes a page shows after an action (?done=NAME).
var doneMessages = map[string]string{
	"grant":             "Permission granted.",
	"revoke-permission": "Permission taken back.",
	"revoke-key":        "Key revoked.",
	"end-authorization": "Authorization ended.",
}

func doneOf(r *http.Request) string { return doneMessages[r.URL.Query().Get("done")] }

type confirmData struct {
	page
	Action  string
	Summary string
	Params  map[string]string
}

// values reads the action's parameters from the query (GET) or the form
// (POST); each must be set.
func (a action) values(r *http.Request, src url.Values) (url.Values, error) {
	v := url.Values{}
	for _, k := range a.params {
		if src.Get(k) == "" {
			return nil, fmt.Errorf("%s is empty: set it", k)
		}
		v.Set(k, src.Get(k))
	}
	return v, nil
}

// prepare finds the action and checks it; it answers the refusal itself.
func (p *Portal) prepare(w http.ResponseWriter, r *http.Request, s *session, src url.Values) (action, url.Values, string, bool) {
	a, ok := actions[r.PathValue("action")]
	if !ok {
		p.fail(w, r, s, http.StatusNotFound, fmt.Sprintf("no action %q", r.PathValue("action")))
		return action{}, nil, "", false
	}
	v, err := a.values(r, src)
	if err != nil {
		p.fail(w, r, s, http.StatusBadRequest, err.Error())
		return action{}, nil, "", false
	}
	summary, status, err := a.check(p, r, s, v)
	switch {
	case err != nil && status != 0:
		p.fail(w, r, s, status, err.Error())
		return action{}, nil, "", false
	case err != nil:
		p.failErr(w, r, s, err)
		return action{}, nil, "", false
	}
	return a, v, summary, true
}

func (p *Portal) confirm(w http.ResponseWriter, r *http.Request, s *session) {
	_, v, summary, ok := p.prepare(w, r, s, r.URL.Query())
	if !ok {
		return
	}
	d := confirmData{page: p.pageOf(s, "Confirm"), Action: r.PathValue("action"), Summary: summary, Params: map[string]string{}}
	for k := range v {
		d.Params[k] = v.Get(k)
	}
	p.render(w, http.StatusOK, "confirm", d)
}

func (p *Portal) act(w http.ResponseWriter, r *http.Request, s *session) {
	a, v, _, ok := p.prepare(w, r, s, r.PostForm)
	if !ok {
		return
	}
	if err := a.do(p, r, s, v); err != nil {
		p.failErr(w, r, s, err)
		return
	}
	p.log.Info("portal action", "action", r.PathValue("action"), "actor", s.actor(), "params", v.Encode())
	back, _ := url.Parse(a.back(v))
	q := back.Query()
	q.Set("done", r.PathValue("action"))
	back.RawQuery = q.Encode()
	http.Redirect(w, r, back.String(), http.StatusSeeOther)
}
