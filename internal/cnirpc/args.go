package cnirpc

import (
	"fmt"
	"strings"
)

// CNI_ARGS keys set by Kubernetes runtimes (containerd, CRI-O) and Multus.
const (
	ArgPodNamespace = "K8S_POD_NAMESPACE"
	ArgPodName      = "K8S_POD_NAME"
	ArgPodUID       = "K8S_POD_UID"
)

// PodRef identifies the pod a CNI request is for.
type PodRef struct {
	Namespace string
	Name      string
	UID       string // empty if the runtime did not pass K8S_POD_UID
}

func (p PodRef) String() string { return p.Namespace + "/" + p.Name }

// ParseArgs splits CNI_ARGS ("KEY1=VAL1;KEY2=VAL2") into a map. Empty pairs
// are ignored; a pair without '=' or with an empty key is a *FieldError.
// When a key repeats, the last value wins.
func ParseArgs(args string) (map[string]string, error) {
	m := make(map[string]string)
	for pair := range strings.SplitSeq(args, ";") {
		if pair == "" {
			continue
		}
		k, v, ok := strings.Cut(pair, "=")
		if !ok || k == "" {
			return nil, &FieldError{Field: "CNI_ARGS", Reason: fmt.Sprintf("%q is not KEY=VALUE", pair)}
		}
		m[k] = v
	}
	return m, nil
}

// PodArgs reads the pod's namespace, name and UID from CNI_ARGS. Namespace and
// name are required; the UID is optional because older runtimes omit it.
func PodArgs(args string) (PodRef, error) {
	m, err := ParseArgs(args)
	if err != nil {
		return PodRef{}, err
	}
	ref := PodRef{Namespace: m[ArgPodNamespace], Name: m[ArgPodName], UID: m[ArgPodUID]}
	if ref.Namespace == "" {
		return PodRef{}, &FieldError{Field: "CNI_ARGS " + ArgPodNamespace, Reason: "missing"}
	}
	if ref.Name == "" {
		return PodRef{}, &FieldError{Field: "CNI_ARGS " + ArgPodName, Reason: "missing"}
	}
	return ref, nil
}
