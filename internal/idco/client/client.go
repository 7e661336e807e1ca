// Package client is the Go client of the IDCO's HTTPS API, for the
// operator, the edge and the admin CLI. It imports no SQL driver (a test
// checks), only the IDCO's types and package pki for certificates.
package client

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"switchboard/internal/idco"
	"switchboard/internal/idco/pki"
)

// Client calls one IDCO. It is safe for concurrent use.
type Client struct {
	base string
	hc   *http.Client
}

// New returns a client for the IDCO at baseURL ("https://host:port") that
// authenticates with tlsConfig (see pki.ClientTLS).
func New(baseURL string, tlsConfig *tls.Config) *Client {
	tr := &http.Transport{TLSClientConfig: tlsConfig, MaxIdleConnsPerHost: 64, IdleConnTimeout: 90 * time.Second,
		ForceAttemptHTTP2: true, TLSHandshakeTimeout: 10 * time.Second}
	return &Client{base: baseURL, hc: &http.Client{Transport: tr}}
}

// NewFromDir returns a client using the ca.crt, tls.crt and tls.key that
// "switchboard-idco enrol" wrote into dir.
func NewFromDir(baseURL, dir string) (*Client, error) {
	cfg, err := pki.ClientTLS(dir)
	if err != nil {
		return nil, err
	}
	return New(baseURL, cfg), nil
}

// Close releases idle connections.
func (c *Client) Close() { c.hc.CloseIdleConnections() }

// Error is an error answer from the IDCO. It matches idco.ErrInvalid,
// idco.ErrNotFound and idco.ErrConflict with errors.Is.
type Error struct {
	Status  int
	Reason  string
	Message string
}

func (e *Error) Error() string {
	return fmt.Sprintf("idco: %s (%d %s)", e.Message, e.Status, e.Reason)
}

// Is maps HTTP statuses onto the idco package's sentinel errors.
func (e *Error) Is(target error) bool {
	switch target {
	case idco.ErrInvalid:
		return e.Status == http.StatusBadRequest
	case idco.ErrNotFound:
		return e.Status == http.StatusNotFound
	case idco.ErrConflict:
		return e.Status == http.StatusConflict
	}
	return false
}

// do sends in (if not nil) as JSON and decodes the answer into out (if
// not nil).
func (c *Client) do(ctx context.Context, method, path string, q url.Values, in, out any) error {
	u := c.base + path
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, body)
	if err != nil {
		return err
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 300 {
		var e struct{ Error, Reason string }
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
		if json.Unmarshal(b, &e) != nil || e.Error == "" {
			e.Error = string(b)
		}
		return &Error{Status: resp.StatusCode, Reason: e.Reason, Message: e.Error}
	}
	if out == nil {
		io.Copy(io.Discard, resp.Body)
		return nil
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		return fmt.Errorf("%s %s: decode answer: %w", method, path, err)
	}
	return nil
}

func clusterPath(cluster string, rest ...string) string {
	p := "/v1/clusters/" + url.PathEscape(cluster)
	for _, r := range rest {
		p += "/" + url.PathEscape(r)
	}
	return p
}

// Healthz checks that the IDCO answers.
func (c *Client) Healthz(ctx context.Context) error {
	return c.do(ctx, http.MethodGet, "/healthz", nil, nil, nil)
}

// RegisterCluster records the cluster; idempotent.
func (c *Client) RegisterCluster(ctx context.Context, cluster string) error {
	return c.do(ctx, http.MethodPut, clusterPath(cluster), nil, nil, nil)
}

// SetEdgeEndpoint records the WAN address:port of the cluster's edge and
// its WireGuard public key (empty for plain VXLAN).
func (c *Client) SetEdgeEndpoint(ctx context.Context, cluster string, e idco.EdgeEndpointRequest) error {
	return c.do(ctx, http.MethodPut, clusterPath(cluster, "edge-endpoint"), nil, e, nil)
}

// RegisterNetwork records (idempotently) the cluster's side of network and
// returns the network's inter-cluster VNI.
func (c *Client) RegisterNetwork(ctx context.Context, cluster, network string, r idco.NetworkRegistration) (uint32, error) {
	var out idco.RegisterNetworkResponse
	err := c.do(ctx, http.MethodPut, clusterPath(cluster, "networks", network), nil, r, &out)
	return out.VNI, err
}

// DeregisterNetwork removes the cluster's side of network when its local
// Network goes: the IDCO ends the cluster's authorizations on it and the
// edges disconnect it. local names that Network (empty fields match any),
// so that a registration another Network of the same name made since is
// kept. It is idempotent: what is not registered is success.
func (c *Client) DeregisterNetwork(ctx context.Context, cluster, network string, local idco.LocalNetwork) error {
	q := query(map[string]string{"namespace": local.Namespace, "name": local.Name})
	return c.do(ctx, http.MethodDelete, clusterPath(cluster, "networks", network), q, nil, nil)
}

// Authorize asks whether a pod of cluster may join a network with a
// token. A refusal is a Decision with Allowed false, not an error.
func (c *Client) Authorize(ctx context.Context, cluster string, req idco.PodAuthorization) (idco.Decision, error) {
	var d idco.Decision
	err := c.do(ctx, http.MethodPost, clusterPath(cluster, "authorizations"), nil, req, &d)
	return d, err
}

// Release ends an authorization when its pod goes; idempotent.
func (c *Client) Release(ctx context.Context, cluster, id string) error {
	return c.do(ctx, http.MethodDelete, clusterPath(cluster, "authorizations", id), nil, nil, nil)
}

// query holds the parameters that are not empty.
func query(params map[string]string) url.Values {
	q := url.Values{}
	for k, v := range params {
		if v != "" {
			q.Set(k, v)
		}
	}
	return q
}

func pollQuery(since int64, wait time.Duration) url.Values {
	q := url.Values{"since": {strconv.FormatInt(since, 10)}}
	if wait > 0 {
		q.Set("wait", wait.String())
	}
	return q
}

// Authorizations returns the cluster's active authorizations and those
// revoked after revision since, waiting up to wait (at most a minute) for
// the revision to move past since. Call it in a loop with the returned
// Revision.
func (c *Client) Authorizations(ctx context.Context, cluster string, since int64, wait time.Duration) (idco.AuthorizationList, error) {
	var l idco.AuthorizationList
	err := c.do(ctx, http.MethodGet, clusterPath(cluster, "authorizations"), pollQuery(since, wait), nil, &l)
	return l, err
}

// EdgeConfig returns the whole desired state of the cluster's edge,
// waiting up to wait for the revision to move past since.
func (c *Client) EdgeConfig(ctx context.Context, cluster string, since int64, wait time.Duration) (idco.EdgeConfig, error) {
	var e idco.EdgeConfig
	err := c.do(ctx, http.MethodGet, clusterPath(cluster, "edge-config"), pollQuery(since, wait), nil, &e)
	return e, err
}

// WatchEdgeConfig long-polls the edge config and calls apply with every new
// revision (and once at the start) until ctx ends. Errors from the IDCO are
// retried after a second; an error from apply stops the watch.
func (c *Client) WatchEdgeConfig(ctx context.Context, cluster string, apply func(idco.EdgeConfig) error) error {
	since := int64(-1)
	for ctx.Err() == nil {
		wait := 50 * time.Second
		if since < 0 {
			wait = 0
		}
		cfg, err := c.EdgeConfig(ctx, cluster, max(since, 0), wait)
		if err != nil {
			select {
			case <-ctx.Done():
			case <-time.After(time.Second):
			}
			continue
		}
		if cfg.Revision != since {
			if err := apply(cfg); err != nil {
				return err
			}
			since = cfg.Revision
		}
	}
	return ctx.Err()
}

// AddUser records a user (admin).
func (c *Client) AddUser(ctx context.Context, name string) error {
	return c.do(ctx, http.MethodPost, "/v1/users", nil, idco.UserRequest{Name: name}, nil)
}

// AddKey records a PEM public key of a user and returns its fingerprint
// (admin).
func (c *Client) AddKey(ctx context.Context, user string, pubPEM []byte) (string, error) {
	var out idco.KeyResponse
	err := c.do(ctx, http.MethodPost, "/v1/users/"+url.PathEscape(user)+"/keys", nil, idco.KeyRequest{PublicKeyPEM: string(pubPEM)}, &out)
	return out.Fingerprint, err
}

// Keys lists a user's keys (admin).
func (c *Client) Keys(ctx context.Context, user string) ([]idco.Key, error) {
	var ks []idco.Key
	err := c.do(ctx, http.MethodGet, "/v1/users/"+url.PathEscape(user)+"/keys", nil, nil, &ks)
	return ks, err
}

// RevokeKey revokes a key by fingerprint, and the authorizations made
// with it (admin).
func (c *Client) RevokeKey(ctx context.Context, fingerprint string) error {
	return c.do(ctx, http.MethodPost, "/v1/keys/revoke", nil, idco.KeyResponse{Fingerprint: fingerprint}, nil)
}

// Grant lets a user join a network where access lists are left open
// (admin).
func (c *Client) Grant(ctx context.Context, user, network string) error {
	return c.do(ctx, http.MethodPut, "/v1/users/"+url.PathEscape(user)+"/permissions/"+url.PathEscape(network), nil, nil, nil)
}

// RevokePermission takes a permission back (admin).
func (c *Client) RevokePermission(ctx context.Context, user, network string) error {
	return c.do(ctx, http.MethodDelete, "/v1/users/"+url.PathEscape(user)+"/permissions/"+url.PathEscape(network), nil, nil, nil)
}

// Audit reads the audit log, newest first (admin).
func (c *Client) Audit(ctx context.Context, f idco.AuditFilter) ([]idco.AuditEntry, error) {
	q := query(map[string]string{"user": f.User, "network": f.Network, "cluster": f.Cluster})
	if f.Limit > 0 {
		q.Set("limit", strconv.Itoa(f.Limit))
	}
	var es []idco.AuditEntry
	err := c.do(ctx, http.MethodGet, "/v1/audit", q, nil, &es)
	return es, err
}
