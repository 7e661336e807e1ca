// Package podnet reads the networks a pod asks for in the Network Plumbing
// Working Group's annotation k8s.v1.cni.cncf.io/networks, the way Multus
// does: a JSON list of selections, or the short form "net1,ns2/net2@if2".
// It has no state and imports nothing from Kubernetes.
package podnet

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"strings"

	"switchboard/internal/bandwidth"
)

// Annotation is the pod annotation that selects networks.
const Annotation = "k8s.v1.cni.cncf.io/networks"

// Selection is one network a pod asks for. Namespace is empty when the
// pod's own namespace is meant.
type Selection struct {
	Name      string   `json:"name"`
	Namespace string   `json:"namespace,omitempty"`
	Interface string   `json:"interface,omitempty"`
	IPs       []string `json:"ips,omitempty"`
	MAC       string   `json:"mac,omitempty"`
	// Bandwidth limits this interface, replacing the network's limits
	// direction by direction: Multus's "bandwidth" object of a network
	// selection, which it passes on as CNI's bandwidth capability (rates
	// in bit/s, bursts in bits).
	Bandwidth *bandwidth.CNI `json:"bandwidth,omitempty"`
}

// Parse reads the annotation's value; "" selects nothing.
func Parse(v string) ([]Selection, error) {
	v = strings.TrimSpace(v)
	if v == "" {
		return nil, nil
	}
	if strings.HasPrefix(v, "[") {
		var out []Selection
		if err := json.Unmarshal([]byte(v), &out); err != nil {
			if te, ok := errors.AsType[*json.UnmarshalTypeError](err); ok && strings.HasPrefix(te.Field, "bandwidth.") {
				return nil, fmt.Errorf("pod annotation %s: %s must be a number (bits per second for a rate, bits for a burst, e.g. 100000000 for 100 Mbit/s), not JSON %s", Annotation, te.Field, te.Value)
			}
			return nil, fmt.Errorf("pod annotation %s is not valid JSON: %w", Annotation, err)
		}
		for i, s := range out {
			if s.Name == "" {
				return nil, fmt.Errorf("pod annotation %s: element %d has no \"name\": name the network", Annotation, i)
			}
			if s.Bandwidth != nil {
				if _, err := s.Bandwidth.Limits(); err != nil {
					return nil, fmt.Errorf("pod annotation %s: element %d (%s): bandwidth.%w", Annotation, i, s.Name, err)
				}
			}
		}
		return out, nil
	}
	var out []Selection
	for item := range strings.SplitSeq(v, ",") {
		s := Selection{}
		item, s.Interface, _ = strings.Cut(strings.TrimSpace(item), "@")
		if ns, name, ok := strings.Cut(item, "/"); ok {
			s.Namespace, s.Name = ns, name
		} else {
			s.Name = item
		}
		if s.Name == "" {
			return nil, fmt.Errorf("pod annotation %s: empty network name in %q: list names as net, ns/net or net@if", Annotation, v)
		}
		out = append(out, s)
	}
	return out, nil
}

// Ref is a network's namespace and name.
type Ref struct{ Namespace, Name string }

// String is "namespace/name", how the network is named in an
// Authorization's decisions.
func (r Ref) String() string { return r.Namespace + "/" + r.Name }

// Networks returns the distinct networks the annotation value v selects for
// a pod in namespace podNS, in order of first mention.
func Networks(v, podNS string) ([]Ref, error) {
	sels, err := Parse(v)
	if err != nil {
		return nil, err
	}
	var out []Ref
	seen := map[Ref]bool{}
	for _, s := range sels {
		r := Ref{Namespace: s.Namespace, Name: s.Name}
		if r.Namespace == "" {
			r.Namespace = podNS
		}
		if !seen[r] {
			seen[r] = true
			out = append(out, r)
		}
	}
	return out, nil
}

// InterfaceName is the name of the pod interface for s, the i-th (from 0)
// selection of the annotation: the one s names, or else net1, net2, ...
// in annotation order, as Multus names them.
func (s Selection) InterfaceName(i int) string {
	if s.Interface != "" {
		return s.Interface
	}
	return fmt.Sprintf("net%d", i+1)
}

// ParseIPs reads static addresses as a selection's "ips" gives them: CIDRs
// (10.20.0.7/24) or bare addresses (a bare address is a host prefix).
func ParseIPs(ips []string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, s := range ips {
		s = strings.TrimSpace(s)
		if p, err := netip.ParsePrefix(s); err == nil {
			out = append(out, p)
			continue
		}
		a, err := netip.ParseAddr(s)
		if err != nil {
			return nil, fmt.Errorf("static address %q in the pod's %s \"ips\" is not an IP or CIDR (e.g. 10.20.0.7/24)", s, Annotation)
		}
		out = append(out, netip.PrefixFrom(a, a.BitLen()))
	}
	return out, nil
}
