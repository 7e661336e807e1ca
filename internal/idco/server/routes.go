package server

import (
	"net/http"
	"strconv"
	"time"

	"switchboard/internal/idco"
)

func (s *Server) clusterRoutes() {
	s.handle("PUT /v1/clusters/{cluster}", clusterSelf, s.registerCluster)
	s.handle("PUT /v1/clusters/{cluster}/edge-endpoint", clusterSelf, s.setEdgeEndpoint)
	s.handle("PUT /v1/clusters/{cluster}/networks/{network}", clusterSelf, s.registerNetwork)
	s.handle("DELETE /v1/clusters/{cluster}/networks/{network}", clusterSelf, s.deregisterNetwork)
	s.handle("POST /v1/clusters/{cluster}/authorizations", clusterSelf, s.authorizePod)
	s.handle("GET /v1/clusters/{cluster}/authorizations", clusterSelf, s.authorizations)
	s.handle("DELETE /v1/clusters/{cluster}/authorizations/{id}", clusterSelf, s.release)
	s.handle("GET /v1/clusters/{cluster}/edge-config", clusterSelf, s.edgeConfig)
}

func (s *Server) adminRoutes() {
	s.handle("POST /v1/users", adminOnly, s.addUser)
	s.handle("GET /v1/users/{user}/keys", adminOnly, s.keys)
	s.handle("POST /v1/users/{user}/keys", adminOnly, s.addKey)
	s.handle("POST /v1/keys/revoke", adminOnly, s.revokeKey)
	s.handle("PUT /v1/users/{user}/permissions/{network}", adminOnly, s.grant)
	s.handle("DELETE /v1/users/{user}/permissions/{network}", adminOnly, s.revokePermission)
	s.handle("PUT /v1/users/{user}/owned-networks/{network}", adminOnly, s.addOwner)
	s.handle("DELETE /v1/users/{user}/owned-networks/{network}", adminOnly, s.removeOwner)
	s.handle("DELETE /v1/authorizations/{id}", adminOnly, s.endAuthorization)
	s.handle("GET /v1/audit", adminOnly, s.audit)
}

func (s *Server) registerCluster(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := withTimeout(r)
	defer cancel()
	if err := s.svc.RegisterCluster(ctx, r.PathValue("cluster")); err != nil {
		s.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) setEdgeEndpoint(w http.ResponseWriter, r *http.Request) {
	var req idco.EdgeEndpointRequest
	if !decode(w, r, &req) {
		return
	}
	ctx, cancel := withTimeout(r)
	defer cancel()
	if err := s.svc.SetEdgeEndpoint(ctx, r.PathValue("cluster"), req); err != nil {
		s.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) registerNetwork(w http.ResponseWriter, r *http.Request) {
	var req idco.NetworkRegistration
	if !decode(w, r, &req) {
		return
	}
	ctx, cancel := withTimeout(r)
	defer cancel()
	vni, err := s.svc.RegisterNetwork(ctx, idco.Registration{
		Cluster: r.PathValue("cluster"), Network: r.PathValue("network"), Namespace: req.Namespace, Name: req.Name,
		LocalVNI: req.LocalVNI, AccessList: req.AccessList, Edge: req.Edge,
	})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, idco.RegisterNetworkResponse{VNI: vni})
}

// deregisterNetwork removes the cluster's side of a network; ?namespace=
// and ?name= keep a registration that another local Network made.
func (s *Server) deregisterNetwork(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := withTimeout(r)
	defer cancel()
	q := r.URL.Query()
	err := s.svc.DeregisterNetwork(ctx, idco.Deregistration{Cluster: r.PathValue("cluster"), Network: r.PathValue("network"),
		Namespace: q.Get("namespace"), Name: q.Get("name")})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) authorizePod(w http.ResponseWriter, r *http.Request) {
	var req idco.PodAuthorization
	if !decode(w, r, &req) {
		return
	}
	ctx, cancel := withTimeout(r)
	defer cancel()
	d, err := s.svc.Authorize(ctx, idco.AuthorizeRequest{Cluster: r.PathValue("cluster"), Network: req.Network,
		Namespace: req.Namespace, Pod: req.Pod, Token: req.Token})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.metrics.decision(d.Allowed, d.Reason)
	writeJSON(w, http.StatusOK, d)
}

func (s *Server) release(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := withTimeout(r)
	defer cancel()
	if err := s.svc.Release(ctx, r.PathValue("cluster"), r.PathValue("id")); err != nil {
		s.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// pollParams reads ?since=REV&wait=DURATION (wait capped at MaxWait).
func pollParams(w http.ResponseWriter, r *http.Request) (since int64, wait time.Duration, ok bool) {
	q := r.URL.Query()
	if v := q.Get("since"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 {
			writeError(w, http.StatusBadRequest, "Invalid", "since must be a revision (a non-negative integer)")
			return 0, 0, false
		}
		since = n
	}
	if v := q.Get("wait"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d < 0 {
			writeError(w, http.StatusBadRequest, "Invalid", "wait must be a Go duration such as 30s")
			return 0, 0, false
		}
		wait = min(d, MaxWait)
	}
	return since, wait, true
}

func (s *Server) authorizations(w http.ResponseWriter, r *http.Request) {
	since, wait, ok := pollParams(w, r)
	if !ok {
		return
	}
	l, err := s.svc.Authorizations(r.Context(), r.PathValue("cluster"), since, wait)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, l)
}

func (s *Server) edgeConfig(w http.ResponseWriter, r *http.Request) {
	since, wait, ok := pollParams(w, r)
	if !ok {
		return
	}
	c, err := s.svc.EdgeConfig(r.Context(), r.PathValue("cluster"), since, wait)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, c)
}

func (s *Server) addUser(w http.ResponseWriter, r *http.Request) {
	var req idco.UserRequest
	if !decode(w, r, &req) {
		return
	}
	ctx, cancel := withTimeout(r)
	defer cancel()
	if err := s.svc.AddUser(ctx, req.Name); err != nil {
		s.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) keys(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := withTimeout(r)
	defer cancel()
	ks, err := s.svc.Keys(ctx, r.PathValue("user"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if ks == nil {
		ks = []idco.Key{}
	}
	writeJSON(w, http.StatusOK, ks)
}

func (s *Server) addKey(w http.ResponseWriter, r *http.Request) {
	var req idco.KeyRequest
	if !decode(w, r, &req) {
		return
	}
	ctx, cancel := withTimeout(r)
	defer cancel()
	fp, err := s.svc.AddKey(ctx, r.PathValue("user"), []byte(req.PublicKeyPEM))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, idco.KeyResponse{Fingerprint: fp})
}

func (s *Server) revokeKey(w http.ResponseWriter, r *http.Request) {
	var req idco.KeyResponse
	if !decode(w, r, &req) {
		return
	}
	ctx, cancel := withTimeout(r)
	defer cancel()
	if err := s.svc.RevokeKey(ctx, req.Fingerprint); err != nil {
		s.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) grant(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := withTimeout(r)
	defer cancel()
	if err := s.svc.Grant(ctx, r.PathValue("user"), r.PathValue("network")); err != nil {
		s.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) revokePermission(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := withTimeout(r)
	defer cancel()
	if err := s.svc.RevokePermission(ctx, r.PathValue("user"), r.PathValue("network")); err != nil {
		s.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) addOwner(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := withTimeout(r)
	defer cancel()
	if err := s.svc.AddOwner(ctx, r.PathValue("user"), r.PathValue("network")); err != nil {
		s.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) removeOwner(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := withTimeout(r)
	defer cancel()
	if err := s.svc.RemoveOwner(ctx, r.PathValue("user"), r.PathValue("network")); err != nil {
		s.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) endAuthorization(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := withTimeout(r)
	defer cancel()
	if err := s.svc.EndAuthorization(ctx, r.PathValue("id"), "ended with the admin API"); err != nil {
		s.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) audit(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	f := idco.AuditFilter{User: q.Get("user"), Network: q.Get("network"), Cluster: q.Get("cluster")}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 10000 {
			writeError(w, http.StatusBadRequest, "Invalid", "limit must be 1-10000")
			return
		}
		f.Limit = n
	}
	ctx, cancel := withTimeout(r)
	defer cancel()
	es, err := s.svc.Audit(ctx, f)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, es)
}
