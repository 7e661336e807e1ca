package agent

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// networksAnnotation is the Network Plumbing Working Group's pod annotation.
const networksAnnotation = "k8s.v1.cni.cncf.io/networks"

// selection is one element of the annotation's JSON form.
type selection struct {
	Name      string   `json:"name"`
	Namespace string   `json:"namespace"`
	Interface string   `json:"interface"`
	IPs       []string `json:"ips"`
	MAC       string   `json:"mac"`
}

// parseSelections reads the annotation: a JSON list of selections, or the
// short form "net1,ns2/net2,net3@if3".
func parseSelections(v string) ([]selection, error) {
	v = strings.TrimSpace(v)
	if v == "" {
		return nil, nil
	}
	if strings.HasPrefix(v, "[") {
		var out []selection
		if err := json.Unmarshal([]byte(v), &out); err != nil {
			return nil, fmt.Errorf("pod annotation %s is not valid JSON: %w", networksAnnotation, err)
		}
		return out, nil
	}
	var out []selection
	for _, item := range strings.Split(v, ",") {
		s := selection{}
		item, s.Interface, _ = strings.Cut(strings.TrimSpace(item), "@")
		if ns, name, ok := strings.Cut(item, "/"); ok {
			s.Namespace, s.Name = ns, name
		} else {
			s.Name = item
		}
		out = append(out, s)
	}
	return out, nil
}

// selectionFor finds the pod's selection of the NetworkAttachmentDefinition
// nadName for interface ifName. Multus names interfaces net1, net2, ... in
// annotation order when the selection does not name one.
func selectionFor(sels []selection, podNS, nadNS, nadName, ifName string) (selection, bool) {
	for i, s := range sels {
		ns := s.Namespace
		if ns == "" {
			ns = podNS
		}
		iface := s.Interface
		if iface == "" {
			iface = fmt.Sprintf("net%d", i+1)
		}
		if s.Name == nadName && ns == nadNS && iface == ifName {
			return s, true
		}
	}
	return selection{}, false
}

// annotationRequest reads the static addresses and MAC that the pod's
// annotation asks for on this interface. Multus passes them as runtime
// config only when the NetworkAttachmentDefinition declares the ips and mac
// capabilities, which hand-written seed-format definitions do not; reading
// the annotation honours the pod's request either way.
func (a *Agent) annotationRequest(ctx context.Context, pod podKey, nadNS, nadName, ifName string) (ips []string, mac string, err error) {
	var p corev1.Pod
	if err := a.apiReader.Get(ctx, client.ObjectKey{Namespace: pod.namespace, Name: pod.name}, &p); err != nil {
		return nil, "", fmt.Errorf("get pod %s/%s: %w", pod.namespace, pod.name, err)
	}
	sels, err := parseSelections(p.Annotations[networksAnnotation])
	if err != nil {
		return nil, "", badRequest(err.Error())
	}
	s, _ := selectionFor(sels, pod.namespace, nadNS, nadName, ifName)
	return s.IPs, s.MAC, nil
}

type podKey struct{ namespace, name string }
