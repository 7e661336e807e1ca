package intercluster

import (
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/util/validation"

	"switchboard/api/v1alpha1"
	"switchboard/internal/idco/client"
)

// ConditionError is an error that the Network's owner must act on, with
// the reason the Network's Ready condition gives it (NameConflict,
// ProviderNotAllowed, InvalidSpec).
type ConditionError struct {
	Reason string
	Err    error
}

func (e *ConditionError) Error() string { return e.Err.Error() }
func (e *ConditionError) Unwrap() error { return e.Err }

// ConditionReason is the reason for the Network's Ready condition.
func (e *ConditionError) ConditionReason() string { return e.Reason }

// closeAgainAfter is when retain closes a forgotten client's idle
// connections a second time.
const closeAgainAfter = 2 * time.Second

// Allowlist is the providers this operator may talk to, from
// --allowed-providers: each entry a provider name (any domain) or
// name=host:port (that domain only). The nil Allowlist allows every
// provider.
type Allowlist map[string][]string

// ParseAllowlist parses a comma-separated --allowed-providers value; ""
// allows every provider.
func ParseAllowlist(s string) (Allowlist, error) {
	if strings.TrimSpace(s) == "" {
		return nil, nil
	}
	a := Allowlist{}
	for f := range strings.SplitSeq(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		name, domain, withDomain := strings.Cut(f, "=")
		if err := checkProviderName(name); err != nil {
			return nil, fmt.Errorf("--allowed-providers: %w", err)
		}
		if withDomain && domain == "" {
			return nil, fmt.Errorf("--allowed-providers: %q has an empty domain: write NAME or NAME=HOST:PORT", f)
		}
		if !withDomain {
			a[name] = nil // any domain
			continue
		}
		if ds, ok := a[name]; ok && ds == nil {
			continue // already any domain
		}
		a[name] = append(a[name], domain)
	}
	return a, nil
}

// allows reports whether p may be used.
func (a Allowlist) allows(p v1alpha1.Provider) bool {
	if a == nil {
		return true
	}
	ds, ok := a[p.Name]
	return ok && (ds == nil || slices.Contains(ds, p.Domain))
}

func (a Allowlist) String() string {
	var out []string
	for name, ds := range a {
		if ds == nil {
			out = append(out, name)
		}
		for _, d := range ds {
			out = append(out, name+"="+d)
		}
	}
	slices.Sort(out)
	return strings.Join(out, ",")
}

// checkProviderName refuses a provider name that is not a DNS label (RFC
// 1123): the name is a directory under the certificate directory, so
// "../x" or "a/b" must never reach the file system.
func checkProviderName(name string) error {
	if errs := validation.IsDNS1123Label(name); len(errs) > 0 {
		return &ConditionError{Reason: v1alpha1.ReasonInvalidSpec, Err: fmt.Errorf(
			"provider name %q is not a DNS label (%s): name the provider as its certificate directory under --idco-certs is named, e.g. idco",
			name, strings.Join(errs, "; "))}
	}
	return nil
}

// certDirOf returns the certificate directory of provider name, which must
// be a DNS label, inside certDir.
func certDirOf(certDir, name string) (string, error) {
	if err := checkProviderName(name); err != nil {
		return "", err
	}
	dir := filepath.Join(certDir, name)
	if filepath.Dir(dir) != filepath.Clean(certDir) {
		return "", fmt.Errorf("provider name %q leads outside the certificate directory %s", name, certDir)
	}
	return dir, nil
}

// Client returns the client of provider p, made on first use from the
// certificates in certDir/<p.Name>/ and cached until the Watcher finds no
// Network naming p any more (forget). A provider whose name is not a DNS
// label, or that the allow-list leaves out, is refused with a
// *ConditionError.
func (r *Registrar) Client(p *v1alpha1.Provider) (*client.Client, error) {
	if p == nil {
		return nil, errors.New("spec.provider is not set: an ext-vnet network names its IDCO (name and domain)")
	}
	if err := r.check(*p); err != nil {
		return nil, err
	}
	dir, err := certDirOf(r.certDir, p.Name)
	if err != nil {
		return nil, err
	}
	key := *p
	r.mu.Lock()
	defer r.mu.Unlock()
	if c, ok := r.clients[key]; ok {
		return c, nil
	}
	c, err := client.NewFromDir("https://"+p.Domain, dir)
	if err != nil {
		return nil, fmt.Errorf("client certificate for provider %q in %s: %w; enrol this cluster with \"switchboard-idco enrol --cluster %s\" and mount the result there", p.Name, dir, err, r.cluster)
	}
	r.clients[key] = c
	return c, nil
}

// check refuses a provider whose name is not a DNS label or that the
// allow-list leaves out.
func (r *Registrar) check(p v1alpha1.Provider) error {
	if err := checkProviderName(p.Name); err != nil {
		return err
	}
	if !r.allowed.allows(p) {
		return &ConditionError{Reason: v1alpha1.ReasonProviderNotAllowed, Err: fmt.Errorf(
			"provider %q at %s is not allowed in this cluster: the operator runs with --allowed-providers=%s; name one of those, or ask the cluster's administrator to allow this one",
			p.Name, p.Domain, r.allowed)}
	}
	return nil
}

// inUse returns the providers that Client has made a client for.
func (r *Registrar) inUse() []v1alpha1.Provider {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]v1alpha1.Provider, 0, len(r.clients))
	for p := range r.clients {
		out = append(out, p)
	}
	return out
}

// retain closes and forgets the clients, and the remembered registrations,
// of every provider not in keep: no Network names them any more. A client
// that a caller still holds keeps working; its idle connections are closed,
// at once and again after closeAgainAfter, by when a request cancelled just
// before (the provider's long poll) has let go of its connection.
func (r *Registrar) retain(keep map[v1alpha1.Provider]bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for p, c := range r.clients {
		if !keep[p] {
			c.Close()
			time.AfterFunc(closeAgainAfter, c.Close)
			delete(r.clients, p)
		}
	}
	for k := range r.done {
		if !keep[k.provider] {
			delete(r.done, k)
		}
	}
}
