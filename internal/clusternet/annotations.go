package clusternet

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
)

// The annotations of namespace isolation (seed 001), under switchboard.dev/.
// The seed's spellings under opencontrail.org/ are accepted as aliases.
const (
	// AnnotationIsolation "true" on a namespace gives it its own pod network.
	AnnotationIsolation = "switchboard.dev/isolation"
	// AnnotationServiceIsolation "false" on an isolated namespace makes its
	// Services reachable from other namespaces (its pods stay isolated).
	AnnotationServiceIsolation = "switchboard.dev/isolation.service"
	// AnnotationNetwork on a pod or a namespace puts the pods on a named
	// Network (custom mode): "name", "namespace/name", or the seed's JSON
	// {"domain": ..., "project": ..., "name": ...}.
	AnnotationNetwork = "switchboard.dev/network"

	aliasDomain = "opencontrail.org/"
	ownDomain   = "switchboard.dev/"
)

// Membership is the pod network a pod is on.
type Membership struct {
	// Network is "" for the cluster network, else the name of an isolated
	// network: "namespace NS" or "network NS/NAME" (custom mode).
	Network string
	// ServicesOpen: the network's Services are reachable from other
	// networks (service isolation off).
	ServicesOpen bool
	// Custom is the Network a custom-mode pod is on, to check it exists;
	// customBy names the object and the annotation (as spelled) that named it.
	Custom   *NetworkRef
	customBy AnnotationError
}

// NetworkRef names a Network.
type NetworkRef struct{ Namespace, Name string }

func (r NetworkRef) String() string { return r.Namespace + "/" + r.Name }

// AnnotationError is an annotation that cannot be read; it names the
// object, the annotation (as spelled) and the fix.
type AnnotationError struct {
	Object, Annotation, Value, Fix string
}

func (e *AnnotationError) Error() string {
	return fmt.Sprintf("%s: annotation %s=%q: %s", e.Object, e.Annotation, e.Value, e.Fix)
}

// BadRequest marks the error as the user's input to fix (the agent
// reports it to the runtime with its bad-request code).
func (e *AnnotationError) BadRequest() bool { return true }

// lookup returns the annotation key (own spelling first, then the seed's
// alias), its value and the spelling found.
func lookup(ann map[string]string, key string) (value, spelled string, ok bool) {
	if v, ok := ann[key]; ok {
		return v, key, true
	}
	alias := aliasDomain + strings.TrimPrefix(key, ownDomain)
	if v, ok := ann[alias]; ok {
		return v, alias, true
	}
	return "", "", false
}

func boolAnnotation(object string, ann map[string]string, key string, def bool, fix string) (bool, error) {
	v, spelled, ok := lookup(ann, key)
	if !ok {
		return def, nil
	}
	b, err := strconv.ParseBool(strings.TrimSpace(v))
	if err != nil {
		return false, &AnnotationError{Object: object, Annotation: spelled, Value: v, Fix: fix}
	}
	return b, nil
}

// MembershipOf says which pod network a pod of namespace ns is on, from
// the annotations of the pod (may be nil) and of its namespace: a network
// annotation (pod first) puts it on that Network; else an isolated
// namespace is a network of its own; else the cluster network.
func MembershipOf(ns *corev1.Namespace, pod *corev1.Pod) (Membership, error) {
	nsObj := "namespace " + ns.Name
	isolated, err := boolAnnotation(nsObj, ns.Annotations, AnnotationIsolation, false,
		`use "true" (the namespace gets its own pod network) or "false" (the cluster network; same as no annotation)`)
	if err != nil {
		return Membership{}, err
	}
	svcIsolated, err := boolAnnotation(nsObj, ns.Annotations, AnnotationServiceIsolation, true,
		`use "false" (other namespaces reach this namespace's Services) or "true" (they do not; same as no annotation)`)
	if err != nil {
		return Membership{}, err
	}
	var podAnn map[string]string
	podObj := "pod"
	if pod != nil {
		podAnn, podObj = pod.Annotations, "pod "+pod.Namespace+"/"+pod.Name
	}
	for _, src := range []struct {
		object string
		ann    map[string]string
	}{{podObj, podAnn}, {nsObj, ns.Annotations}} {
		v, spelled, ok := lookup(src.ann, AnnotationNetwork)
		if !ok {
			continue
		}
		ref, err := ParseNetworkRef(v, ns.Name)
		if err != nil {
			return Membership{}, &AnnotationError{Object: src.object, Annotation: spelled, Value: v, Fix: err.Error()}
		}
		return Membership{Network: "network " + ref.String(), ServicesOpen: !svcIsolated, Custom: &ref,
			customBy: AnnotationError{Object: src.object, Annotation: spelled, Value: v}}, nil
	}
	if isolated {
		return Membership{Network: nsObj, ServicesOpen: !svcIsolated}, nil
	}
	return Membership{}, nil
}

// ParseNetworkRef reads a network annotation's value: "name" (a Network of
// namespace podNS), "namespace/name", or the seed's JSON object whose
// "name" is the Network and whose "namespace" or "project" (with the seed's
// "k8s-" prefix removed) is its namespace; "domain" is ignored.
func ParseNetworkRef(v, podNS string) (NetworkRef, error) {
	v = strings.TrimSpace(v)
	const fix = `name a Network: "name", "namespace/name" or {"project": "k8s-<namespace>", "name": "<name>"}`
	if strings.HasPrefix(v, "{") {
		var o struct{ Domain, Project, Namespace, Name string }
		if err := json.Unmarshal([]byte(v), &o); err != nil {
			return NetworkRef{}, fmt.Errorf("not valid JSON (%v): %s", err, fix)
		}
		ns := o.Namespace
		if ns == "" {
			ns = strings.TrimPrefix(o.Project, "k8s-")
		}
		if ns == "" {
			ns = podNS
		}
		if o.Name == "" {
			return NetworkRef{}, fmt.Errorf(`the JSON has no "name": %s`, fix)
		}
		return NetworkRef{Namespace: ns, Name: o.Name}, nil
	}
	ns, name, found := strings.Cut(v, "/")
	if !found {
		ns, name = podNS, v
	}
	if ns == "" || name == "" || strings.Contains(name, "/") {
		return NetworkRef{}, fmt.Errorf("empty or malformed: %s", fix)
	}
	return NetworkRef{Namespace: ns, Name: name}, nil
}
