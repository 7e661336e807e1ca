// Package client is the Go client of the IDCO's HTTPS API, for the
// operator, the edge and the admin CLI. It imports no SQL driver (a test
// checks), only the IDCO's types and package pki for certificates.
package client

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"switchboard/internal/idco"
	"switchboard/internal/idco/pki"
)

// Client calls one IDCO. It is safe for concurrent use.
type Client struct {
	base     string
	hc       *http.Client
	timeouts Timeouts
}

// Timeouts bound every call, so that an IDCO that accepts connections and
// never answers cannot stall the caller (a reconciler with one worker, say).
// A call that runs out of time fails with ErrTimeout. Zero fields take the
// defaults.
type Timeouts struct {
	Dial         time.Duration // TCP connect; default 10 s
	TLSHandshake time.Duration // default 10 s
	// Call bounds a whole call that does not long-poll, from connecting to
	// the last byte of the answer; default 30 s (the IDCO gives up on a
	// request after 15 s).
	Call time.Duration
	// PollMargin is how much longer than the wait it asks for a long poll
	// (Authorizations, EdgeConfig) may take; default 15 s.
	PollMargin time.Duration
}

func (t Timeouts) withDefaults() Timeouts {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&t.Dial, 10*time.Second)
	def(&t.TLSHandshake, 10*time.Second)
	def(&t.Call, 30*time.Second)
	def(&t.PollMargin, 15*time.Second)
	return t
}

// MaxWait is the longest wait a long poll asks the IDCO for; the IDCO
// answers by then.
const MaxWait = time.Minute

// ErrTimeout is the error (with errors.Is) of a call that got no complete
// answer within its bound (see Timeouts).
var ErrTimeout = errors.New("no answer from the IDCO in time")

// Option configures a Client.
type Option func(*Client)

// WithTimeouts sets the client's timeouts.
func WithTimeouts(t Timeouts) Option {
	return func(c *Client) { c.timeouts = t }
}

// New returns a client for the IDCO at baseURL ("https://host:port") that
// authenticates with tlsConfig (see pki.ClientTLS).
func New(baseURL string, tlsConfig *tls.Config, opts ...Option) *Client {
	c := &Client{base: baseURL}
	for _, o := range opts {
		o(c)
	}
	c.timeouts = c.timeouts.withDefaults()
	dialer := &net.Dialer{Timeout: c.timeouts.Dial, KeepAlive: 30 * time.Second}
	tr := &http.Transport{TLSClientConfig: tlsConfig, MaxIdleConnsPerHost: 64, IdleConnTimeout: 90 * time.Second,
		ForceAttemptHTTP2: true, DialContext: dialer.DialContext, TLSHandshakeTimeout: c.timeouts.TLSHandshake,
		// A backstop: each call has its own, usually shorter, bound.
		ResponseHeaderTimeout: MaxWait + c.timeouts.PollMargin}
	c.hc = &http.Client{Transport: tr}
	return c
}

// NewFromDir returns a client using the ca.crt, tls.crt and tls.key that
// "switchboard-idco enrol" wrote into dir.
func NewFromDir(baseURL, dir string, opts ...Option) (*Client, error) {
	cfg, err := pki.ClientTLS(dir)
	if err != nil {
		return nil, err
	}
	return New(baseURL, cfg, opts...), nil
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
// not nil), all within the Call timeout.
func (c *Client) do(ctx context.Context, method, path string, q url.Values, in, out any) error {
	return c.doWithin(ctx, c.timeouts.Call, method, path, q, in, out)
}

// errBound is the cause of a call's own deadline.
var errBound = errors.New("call bound reached")

// doWithin is do bounded by bound rather than the Call timeout.
func (c *Client) doWithin(ctx context.Context, bound time.Duration, method, path string, q url.Values, in, out any) error {
	ctx, cancel := context.WithTimeoutCause(ctx, bound, errBound)
	defer cancel()
	err := c.send(ctx, method, path, q, in, out)
	if err == nil {
		return nil
	}
	if _, ok := errors.AsType[*Error](err); ok {
		return err
	}
	var ne net.Error
	if errors.Is(context.Cause(ctx), errBound) || errors.As(err, &ne) && ne.Timeout() && ctx.Err() == nil {
		return fmt.Errorf("%w (%s): check that the IDCO at %s is up and reachable: %v", ErrTimeout, bound, c.base, err)
	}
	return err
}

func (c *Client) send(ctx context.Context, method, path string, q url.Values, in, out any) error {
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
		return err // a *url.Error, which names the method and URL
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
	wait = min(max(wait, 0), MaxWait)
	err := c.doWithin(ctx, c.pollBound(wait), http.MethodGet, clusterPath(cluster, "authorizations"), pollQuery(since, wait), nil, &l)
	return l, err
}

// pollBound bounds a long poll that asks the IDCO to wait up to wait: the
// wait and PollMargin, and never less than a call that does not wait.
func (c *Client) pollBound(wait time.Duration) time.Duration {
	return max(wait+c.timeouts.PollMargin, c.timeouts.Call)
}

// EdgeConfig returns the whole desired state of the cluster's edge,
// waiting up to wait for the revision to move past since.
func (c *Client) EdgeConfig(ctx context.Context, cluster string, since int64, wait time.Duration) (idco.EdgeConfig, error) {
	var e idco.EdgeConfig
	wait = min(max(wait, 0), MaxWait)
	err := c.doWithin(ctx, c.pollBound(wait), http.MethodGet, clusterPath(cluster, "edge-config"), pollQuery(since, wait), nil, &e)
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

// AddOwner makes a user an owner of a network, who may manage it in the
// portal (admin).
func (c *Client) AddOwner(ctx context.Context, user, network string) error {
	return c.do(ctx, http.MethodPut, "/v1/users/"+url.PathEscape(user)+"/owned-networks/"+url.PathEscape(network), nil, nil, nil)
}

// RemoveOwner takes a network's ownership from a user (admin).
func (c *Client) RemoveOwner(ctx context.Context, user, network string) error {
	return c.do(ctx, http.MethodDelete, "/v1/users/"+url.PathEscape(user)+"/owned-networks/"+url.PathEscape(network), nil, nil, nil)
}

// EndAuthorization ends an active authorization (admin).
func (c *Client) EndAuthorization(ctx context.Context, id string) error {
	return c.do(ctx, http.MethodDelete, "/v1/authorizations/"+url.PathEscape(id), nil, nil, nil)
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
