// Package podgate holds a pod back from scheduling while a Switchboard
// network it names is not published yet, and lets it go as soon as it is.
//
// # Why
//
// Applying a Network and the pods that use it in one go (one kubectl apply,
// one Helm release) is a race: Multus reads each network's
// NetworkAttachmentDefinition when the kubelet makes the pod's sandbox, and
// the operator makes that NAD only after it has seen the Network. When the
// kubelet is first, Multus fails ("NoNetworkFound"), and the kubelet tries
// again only some 15 s later: measured in BenchmarkInterCluster, 16 s from
// apply to the first packet instead of 1-2 s.
//
// # How
//
// A mutating admission webhook (Mutator) gives a pod that names such a
// network (its Network exists, its NAD does not) the scheduling gate
// "switchboard.dev/networks" and the label "switchboard.dev/gated" (so
// that the operator watches only gated pods). The scheduler leaves a gated
// pod alone (it is Pending, SchedulingGated). The operator's Lifter removes
// the gate when every network the pod names is published, or when its
// Network goes away, and in any case after MaxWait, with a Warning event,
// so that a pod never waits on Switchboard for ever: Multus then reports
// what is wrong. The webhook never refuses a pod and fails open: without it
// pods behave as before.
package podgate

import (
	"context"
	"fmt"
	"slices"
	"time"

	corev1 "k8s.io/api/core/v1"

	"switchboard/internal/podnet"
)

// Gate is the scheduling gate, and Label the label, of a pod held back.
const (
	Gate  = "switchboard.dev/networks"
	Label = "switchboard.dev/gated"
)

// MaxWait is how long a pod is held at most.
const MaxWait = 2 * time.Minute

// Networks is what the gate needs to know about networks: whether the
// Switchboard Network of that name exists, and whether its NAD does. The
// operator implements it over its cache (ClientNetworks); tests use a fake.
type Networks interface {
	Network(ctx context.Context, ref podnet.Ref) (bool, error)
	NAD(ctx context.Context, ref podnet.Ref) (bool, error)
}

// Unpublished returns the networks pod names whose Switchboard Network
// exists but whose NAD does not (yet). A pod whose networks annotation
// cannot be read has none: the validating webhook and the CNI plugin say
// what is wrong with it.
func Unpublished(ctx context.Context, nets Networks, pod *corev1.Pod) ([]podnet.Ref, error) {
	refs, err := podnet.Networks(pod.Annotations[podnet.Annotation], pod.Namespace)
	if err != nil {
		return nil, nil
	}
	var out []podnet.Ref
	for _, ref := range refs {
		nad, err := nets.NAD(ctx, ref)
		if err != nil {
			return nil, fmt.Errorf("read NetworkAttachmentDefinition %s: %w", ref, err)
		}
		if nad {
			continue
		}
		exists, err := nets.Network(ctx, ref)
		if err != nil {
			return nil, fmt.Errorf("read Network %s: %w", ref, err)
		}
		if exists {
			out = append(out, ref)
		}
	}
	return out, nil
}

// Gated reports whether pod carries the gate.
func Gated(pod *corev1.Pod) bool {
	return slices.ContainsFunc(pod.Spec.SchedulingGates, func(g corev1.PodSchedulingGate) bool { return g.Name == Gate })
}

// lift removes the gate and the label from pod (in memory).
func lift(pod *corev1.Pod) {
	pod.Spec.SchedulingGates = slices.DeleteFunc(pod.Spec.SchedulingGates, func(g corev1.PodSchedulingGate) bool { return g.Name == Gate })
	delete(pod.Labels, Label)
}
