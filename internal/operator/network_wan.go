package operator

import (
	"fmt"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"switchboard/api/v1alpha1"
)

// setWANEncryption sets net's WANEncrypted condition from its edge
// Attachments, which say how each edge carries the network on the WAN,
// and warns, with an event, when it turns False. A network no edge of
// this cluster carries has no such condition.
func (r *NetworkReconciler) setWANEncryption(net *v1alpha1.Network, atts []v1alpha1.Attachment) {
	var plain, encrypted []string
	for _, a := range atts {
		if !a.Spec.IsEdge() {
			continue
		}
		if a.Annotations[v1alpha1.AnnotationWANEncryption] == v1alpha1.WANPlainVXLAN {
			plain = append(plain, a.Spec.Node)
		} else {
			encrypted = append(encrypted, a.Spec.Node)
		}
	}
	if net.Spec.Type != v1alpha1.ExtVNet || len(plain)+len(encrypted) == 0 {
		meta.RemoveStatusCondition(&net.Status.Conditions, v1alpha1.ConditionWANEncrypted)
		return
	}
	c := metav1.Condition{Type: v1alpha1.ConditionWANEncrypted, Status: metav1.ConditionTrue, Reason: v1alpha1.ReasonWireGuard,
		Message: fmt.Sprintf("the edge on %s carries this network across the WAN inside WireGuard", strings.Join(sorted(encrypted), ", "))}
	if len(plain) > 0 {
		c.Status, c.Reason = metav1.ConditionFalse, v1alpha1.ReasonPlainVXLAN
		c.Message = fmt.Sprintf("INSECURE: the edge on %s carries this network across the WAN as plain VXLAN (--insecure-plain-vxlan-wan): anyone on the WAN can read its members' traffic and inject frames into it; run the edges without that flag",
			strings.Join(sorted(plain), ", "))
	}
	if meta.SetStatusCondition(&net.Status.Conditions, c) && c.Status == metav1.ConditionFalse {
		r.Recorder.Event(net, corev1.EventTypeWarning, c.Reason, c.Message)
	}
}

func sorted(s []string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	return slices.Compact(s)
}
