package netctl

import (
	"fmt"
	"net"
	"os"
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"switchboard/api/v1alpha1"
	"switchboard/internal/token"
)

// Spec is the Network that "network create" makes in every context.
// Everything but the access list is the same in each.
type Spec struct {
	Name string
	// Namespace of the Network; empty: each context's own namespace.
	Namespace string
	Type      v1alpha1.NetworkType
	Provider  *v1alpha1.Provider
	IPAM      *v1alpha1.IPAM
	MTU       int32
	// AccessList holds each context's access list, keyed by context; a
	// context without an entry gets none.
	AccessList map[string][]v1alpha1.AccessEntry
	// Ranges holds the address ranges given for one context only
	// (CONTEXT:START-END), added to IPAM.Ranges there: clusters sharing an
	// ext-vnet subnet allocate from ranges of their own.
	Ranges map[string][]v1alpha1.IPRange
}

// Flags are the values of "network create"'s flags, as given.
type Flags struct {
	Type           string
	ProviderName   string
	ProviderDomain string
	CIDR           string
	Gateway        string
	Ranges         []string // [CONTEXT:]START-END
	MTU            int32
	AccessList     []string // [CONTEXT:]USER=FILE
}

// Spec checks the flags and builds the Spec of network name for contexts,
// reading the access list's public keys. Its errors name the flag and the
// fix. Values the API server checks (the CIDR, addresses, the MTU) are left
// to it, so that its message is the one shown.
func (f Flags) Spec(name, namespace string, contexts []string) (Spec, error) {
	s := Spec{Name: name, Namespace: namespace, Type: v1alpha1.NetworkType(f.Type), MTU: f.MTU}
	switch s.Type {
	case v1alpha1.VNet:
		if f.ProviderName != "" || f.ProviderDomain != "" || len(f.AccessList) > 0 {
			return Spec{}, fmt.Errorf("--provider-name, --provider-domain and --access-list are only for --type %s", v1alpha1.ExtVNet)
		}
	case v1alpha1.ExtVNet:
		if f.ProviderName == "" || f.ProviderDomain == "" {
			return Spec{}, fmt.Errorf("--type %s needs --provider-name and --provider-domain HOST:PORT: the IDCO that joins the clusters, the same in each", v1alpha1.ExtVNet)
		}
		if _, port, err := net.SplitHostPort(f.ProviderDomain); err != nil || port == "" {
			return Spec{}, fmt.Errorf("--provider-domain %q is not HOST:PORT: give where the IDCO's HTTPS API listens, e.g. idco.example.org:8443", f.ProviderDomain)
		}
		s.Provider = &v1alpha1.Provider{Name: f.ProviderName, Domain: f.ProviderDomain}
		lists, err := parseAccessList(f.AccessList, contexts)
		if err != nil {
			return Spec{}, err
		}
		s.AccessList = lists
	default:
		return Spec{}, fmt.Errorf("--type %q is not a network type: use %s or %s", f.Type, v1alpha1.VNet, v1alpha1.ExtVNet)
	}
	ipam, ranges, err := f.ipam(contexts)
	if err != nil {
		return Spec{}, err
	}
	s.IPAM, s.Ranges = ipam, ranges
	return s, nil
}

// ipam builds the IPAM of every context and the ranges given for one
// context only.
func (f Flags) ipam(contexts []string) (*v1alpha1.IPAM, map[string][]v1alpha1.IPRange, error) {
	if f.CIDR == "" {
		if f.Gateway != "" || len(f.Ranges) > 0 {
			return nil, nil, fmt.Errorf("--gateway and --range need --cidr: give the network's CIDR, e.g. --cidr 10.50.0.0/24")
		}
		return nil, nil, nil
	}
	ipam := &v1alpha1.IPAM{CIDR: f.CIDR, Gateway: f.Gateway}
	perContext := map[string][]v1alpha1.IPRange{}
	for _, v := range f.Ranges {
		r, ctx := v, ""
		if c, ok := contextPrefix(v, contexts); ok {
			r, ctx = v[len(c)+1:], c
		}
		start, end, ok := strings.Cut(r, "-")
		if !ok || start == "" || end == "" || strings.Contains(start, ":") && !strings.Contains(end, ":") {
			return nil, nil, fmt.Errorf("--range %q is not [CONTEXT:]START-END (contexts: %s): give the first and last address, e.g. --range 10.50.0.10-10.50.0.99, or --range a:10.50.0.10-10.50.0.99 for context a only",
				v, strings.Join(contexts, ", "))
		}
		if ctx == "" {
			ipam.Ranges = append(ipam.Ranges, v1alpha1.IPRange{Start: start, End: end})
		} else {
			perContext[ctx] = append(perContext[ctx], v1alpha1.IPRange{Start: start, End: end})
		}
	}
	return ipam, perContext, nil
}

// parseAccessList reads --access-list values, [CONTEXT:]USER=FILE: an
// entry without a context is for every context; a user whose name holds a
// colon is given with its context. A user appears at most once per context. FILE is a PEM public key, stored in the canonical form
// "switchboard keys new" writes.
func parseAccessList(values, contexts []string) (map[string][]v1alpha1.AccessEntry, error) {
	lists := map[string][]v1alpha1.AccessEntry{}
	for _, v := range values {
		ctxs, entry, err := parseAccessEntry(v, contexts)
		if err != nil {
			return nil, err
		}
		for _, ctx := range ctxs {
			if slices.ContainsFunc(lists[ctx], func(e v1alpha1.AccessEntry) bool { return e.User == entry.User }) {
				return nil, fmt.Errorf("--access-list names user %q twice for context %q: give each user once per context (an entry without CONTEXT: is for every context)", entry.User, ctx)
			}
			lists[ctx] = append(lists[ctx], entry)
		}
	}
	return lists, nil
}

func parseAccessEntry(v string, contexts []string) ([]string, v1alpha1.AccessEntry, error) {
	const syntax = "write USER=FILE (every context) or CONTEXT:USER=FILE, with FILE the user's public key (USER.pub from \"switchboard keys new\")"
	who, file, ok := strings.Cut(v, "=")
	if !ok || who == "" || file == "" {
		return nil, v1alpha1.AccessEntry{}, fmt.Errorf("--access-list %q: %s", v, syntax)
	}
	ctxs, user := contexts, who
	if ctx, ok := contextPrefix(who, contexts); ok {
		ctxs, user = []string{ctx}, who[len(ctx)+1:]
	} else if ctx, _, qualified := strings.Cut(who, ":"); qualified {
		return nil, v1alpha1.AccessEntry{}, fmt.Errorf("--access-list %q: context %q is not one of --contexts (%s): %s",
			v, ctx, strings.Join(contexts, ", "), syntax)
	}
	if user == "" {
		return nil, v1alpha1.AccessEntry{}, fmt.Errorf("--access-list %q: the user is empty: %s", v, syntax)
	}
	pem, err := readPublicKey(file)
	if err != nil {
		return nil, v1alpha1.AccessEntry{}, fmt.Errorf("--access-list %q: %w", v, err)
	}
	return ctxs, v1alpha1.AccessEntry{User: user, PublicKey: pem}, nil
}

// contextPrefix returns the longest of contexts that who starts with,
// followed by a colon. Context names may hold colons themselves (EKS names
// them by ARN), so the qualifier is matched rather than cut at a colon.
func contextPrefix(who string, contexts []string) (string, bool) {
	best, found := "", false
	for _, c := range contexts {
		if strings.HasPrefix(who, c+":") && len(c) >= len(best) {
			best, found = c, true
		}
	}
	return best, found
}

func readPublicKey(path string) (string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("read public key: %w", err)
	}
	pub, err := token.ParsePublicKeyPEM(data)
	if err != nil {
		return "", fmt.Errorf("%s is not a public key (%w): give the USER.pub file that \"switchboard keys new\" writes, not the private key", path, err)
	}
	out, err := token.MarshalPublicKeyPEM(pub)
	if err != nil {
		return "", fmt.Errorf("%s: %w", path, err)
	}
	return string(out), nil
}

// object is the Network to apply in context, in namespace: exactly the
// fields the spec sets, so that server-side apply owns those and no more.
func (s Spec) object(context, namespace string) *unstructured.Unstructured {
	spec := map[string]any{"type": string(s.Type)}
	if s.IPAM != nil {
		ipam := map[string]any{"cidr": s.IPAM.CIDR}
		if s.IPAM.Gateway != "" {
			ipam["gateway"] = s.IPAM.Gateway
		}
		if all := append(append([]v1alpha1.IPRange(nil), s.IPAM.Ranges...), s.Ranges[context]...); len(all) > 0 {
			var ranges []any
			for _, r := range all {
				ranges = append(ranges, map[string]any{"start": r.Start, "end": r.End})
			}
			ipam["ranges"] = ranges
		}
		spec["ipam"] = ipam
	}
	if s.MTU != 0 {
		spec["mtu"] = int64(s.MTU)
	}
	if s.Provider != nil {
		spec["provider"] = map[string]any{"name": s.Provider.Name, "domain": s.Provider.Domain}
	}
	if list := s.AccessList[context]; len(list) > 0 {
		var entries []any
		for _, e := range list {
			entries = append(entries, map[string]any{"user": e.User, "publicKey": e.PublicKey})
		}
		spec["accessList"] = entries
	}
	return &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": v1alpha1.GroupVersion.String(),
		"kind":       "Network",
		"metadata":   map[string]any{"name": s.Name, "namespace": namespace},
		"spec":       spec,
	}}
}
