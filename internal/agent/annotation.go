package agent

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"switchboard/internal/podnet"
)

// selectionFor finds the pod's selection of the NetworkAttachmentDefinition
// nadName for interface ifName. Multus names interfaces net1, net2, ... in
// annotation order when the selection does not name one.
func selectionFor(sels []podnet.Selection, podNS, nadNS, nadName, ifName string) (podnet.Selection, bool) {
	for i, s := range sels {
		ns := s.Namespace
		if ns == "" {
			ns = podNS
		}
		if s.Name == nadName && ns == nadNS && s.InterfaceName(i) == ifName {
			return s, true
		}
	}
	return podnet.Selection{}, false
}

// annotationRequest reads what the pod's annotation asks for on this
// interface: static addresses, MAC and bandwidth. Multus passes them as
// runtime config only when the NetworkAttachmentDefinition declares the
// ips, mac and bandwidth capabilities, which hand-written seed-format
// definitions do not; reading the annotation honours the pod's request
// either way.
func (a *Agent) annotationRequest(ctx context.Context, pod podKey, nadNS, nadName, ifName string) (podnet.Selection, error) {
	var p corev1.Pod
	if err := a.apiReader.Get(ctx, client.ObjectKey{Namespace: pod.namespace, Name: pod.name}, &p); err != nil {
		return podnet.Selection{}, fmt.Errorf("get pod %s/%s: %w", pod.namespace, pod.name, err)
	}
	sels, err := podnet.Parse(p.Annotations[podnet.Annotation])
	if err != nil {
		return podnet.Selection{}, badRequest(err.Error())
	}
	s, _ := selectionFor(sels, pod.namespace, nadNS, nadName, ifName)
	return s, nil
}

type podKey struct{ namespace, name string }
