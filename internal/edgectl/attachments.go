package edgectl

import (
	"context"
	"errors"
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	sbv1 "switchboard/api/v1alpha1"
)

// edgeAttachment is the Attachment that w needs on this node.
func (c *Controller) edgeAttachment(w wantAttachment) *sbv1.Attachment {
	return &sbv1.Attachment{
		ObjectMeta: metav1.ObjectMeta{
			Namespace:   w.Namespace,
			Name:        sbv1.EdgeAttachmentName(w.Network, c.o.Local.Node),
			Labels:      map[string]string{sbv1.LabelNetwork: w.Network, sbv1.LabelNode: c.o.Local.Node},
			Annotations: map[string]string{sbv1.AnnotationWANEncryption: c.wanEncryption()},
		},
		Spec: sbv1.AttachmentSpec{
			Network: w.Network, Role: sbv1.RoleEdge, Pod: c.o.Pod,
			Node: c.o.Local.Node, NodeIP: c.o.NodeIP.String(), Interface: w.Cable,
		},
	}
}

// sameEdge reports whether have already says what want says.
func sameEdge(have, want *sbv1.Attachment) bool {
	h, w := have.Spec, want.Spec
	return h.Network == w.Network && h.Role == w.Role && h.Pod == w.Pod && h.Node == w.Node &&
		h.NodeIP == w.NodeIP && h.Interface == w.Interface && h.ContainerID == "" && h.MAC == "" && len(h.IPs) == 0 &&
		have.Labels[sbv1.LabelNetwork] == w.Network && have.Labels[sbv1.LabelNode] == w.Node &&
		have.Annotations[sbv1.AnnotationWANEncryption] == want.Annotations[sbv1.AnnotationWANEncryption]
}

// wanEncryption is how this edge carries its links on the WAN, for the
// operator's WANEncrypted condition.
func (c *Controller) wanEncryption() string {
	if c.o.Rotate == nil && *c.key.Load() == "" {
		return sbv1.WANPlainVXLAN
	}
	return sbv1.WANWireGuard
}

// syncAttachments creates or corrects the edge Attachments in want and
// deletes this node's other edge Attachments. An existing one is updated in
// place (a new edge pod takes over its predecessor's), never deleted and
// recreated, so that the agent keeps the cable all along.
func (c *Controller) syncAttachments(ctx context.Context, want []wantAttachment) error {
	var errs []error
	keep := map[string]bool{}
	for _, w := range want {
		att := c.edgeAttachment(w)
		keep[att.Namespace+"/"+att.Name] = true
		if err := c.ensureAttachment(ctx, att); err != nil {
			errs = append(errs, err)
		}
	}
	var list sbv1.AttachmentList
	if err := c.o.Client.List(ctx, &list, client.MatchingLabels{sbv1.LabelNode: c.o.Local.Node}); err != nil {
		return errors.Join(append(errs, fmt.Errorf("list attachments of node %s: %w", c.o.Local.Node, err))...)
	}
	for i := range list.Items {
		a := &list.Items[i]
		if !a.Spec.IsEdge() || keep[a.Namespace+"/"+a.Name] {
			continue
		}
		err := c.o.Client.Delete(ctx, a, client.Preconditions{UID: &a.UID})
		if err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
			errs = append(errs, fmt.Errorf("delete edge attachment %s/%s: %w", a.Namespace, a.Name, err))
			continue
		}
		c.log.Info("deleted edge attachment", "network", a.Namespace+"/"+a.Spec.Network, "attachment", a.Name)
	}
	return errors.Join(errs...)
}

func (c *Controller) ensureAttachment(ctx context.Context, want *sbv1.Attachment) error {
	network := want.Namespace + "/" + want.Spec.Network
	err := c.o.Client.Create(ctx, want)
	if err == nil {
		c.log.Info("created edge attachment", "network", network, "attachment", want.Name)
		return nil
	}
	if !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("create edge attachment %s/%s: %w", want.Namespace, want.Name, err)
	}
	var have sbv1.Attachment
	if err := c.o.Client.Get(ctx, client.ObjectKeyFromObject(want), &have); err != nil {
		return fmt.Errorf("get edge attachment %s/%s: %w", want.Namespace, want.Name, err)
	}
	if sameEdge(&have, want) {
		return nil
	}
	if !have.Spec.IsEdge() || have.Spec.Network != want.Spec.Network {
		return fmt.Errorf("attachment %s/%s exists and is not network %s's edge attachment (role %q, network %q): rename the network or remove the attachment",
			want.Namespace, want.Name, want.Spec.Network, have.Spec.Role, have.Spec.Network)
	}
	have.Spec, have.Labels = want.Spec, want.Labels
	if have.Annotations == nil {
		have.Annotations = map[string]string{}
	}
	have.Annotations[sbv1.AnnotationWANEncryption] = want.Annotations[sbv1.AnnotationWANEncryption]
	if err := c.o.Client.Update(ctx, &have); err != nil {
		return fmt.Errorf("update edge attachment %s/%s: %w", want.Namespace, want.Name, err)
	}
	c.log.Info("took over edge attachment", "network", network, "attachment", want.Name, "pod", want.Spec.Pod.Name)
	return nil
}
