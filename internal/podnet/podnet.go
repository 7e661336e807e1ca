// Package podnet reads the networks a pod asks for in the Network Plumbing
// Working Group's annotation k8s.v1.cni.cncf.io/networks, the way Multus
// does: a JSON list of selections, or the short form "net1,ns2/net2@if2".
// It has no state and imports nothing from Kubernetes.
package podnet

import (
	"encoding/json"
	"fmt"
	"strings"
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
			return nil, fmt.Errorf("pod annotation %s is not valid JSON: %w", Annotation, err)
		}
		for i, s := range out {
			if s.Name == "" {
				return nil, fmt.Errorf("pod annotation %s: element %d has no \"name\": name the network", Annotation, i)
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
