package agent

import (
	"context"
	"errors"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	sbv1 "switchboard/api/v1alpha1"
	"switchboard/internal/cnirpc"
)

// nodeAttachments lists this node's attachments, live from the API server
// (a DEL right after an ADD must see what the ADD created).
func (a *Agent) nodeAttachments(ctx context.Context) ([]sbv1.Attachment, error) {
	var list sbv1.AttachmentList
	if err := a.apiReader.List(ctx, &list, client.MatchingLabels{sbv1.LabelNode: a.opts.NodeName}); err != nil {
		return nil, fmt.Errorf("list attachments of node %s: %w", a.opts.NodeName, err)
	}
	return list.Items, nil
}

// del removes the pod's interface and releases its attachment. It is
// idempotent: nothing left to remove is success, so is a missing netns.
// The interface is taken off the network first, and only then is the
// address released; the kernel's deletion of the veth pair, the slow part,
// goes on in the background (dataplane.DetachPod), off the runtime's path.
func (a *Agent) del(ctx context.Context, req cnirpc.Request) error {
	atts, err := a.localAttachments(ctx)
	if err != nil {
		return err
	}
	if err := a.dp.DetachPod(req.ContainerID, req.IfName); err != nil {
		return fmt.Errorf("remove interface %s of container %s: %w", req.IfName, req.ContainerID, err)
	}
	var errs []error
	for i := range atts {
		if s := atts[i].Spec; s.ContainerID == req.ContainerID && s.Interface == req.IfName {
			if err := a.client.Delete(ctx, &atts[i]); err != nil && !apierrors.IsNotFound(err) {
				errs = append(errs, fmt.Errorf("release attachment %s/%s: %w", atts[i].Namespace, atts[i].Name, err))
				continue
			}
			a.recent.Deleted(&atts[i], time.Now())
		}
	}
	return errors.Join(errs...)
}

// check verifies that the interface, its addresses and its attachment are
// as ADD left them.
func (a *Agent) check(ctx context.Context, req cnirpc.Request) error {
	t, err := a.resolve(ctx, req)
	if err != nil {
		return err
	}
	att, err := a.existingAttachment(ctx, t.network.Namespace, t.network.Name, req.ContainerID, req.IfName)
	if err != nil {
		return err
	}
	if att == nil {
		return fmt.Errorf("no attachment of container %s interface %s on network %s/%s", req.ContainerID, req.IfName, t.network.Namespace, t.network.Name)
	}
	pi, err := podInterfaceOf(req, t.network, att)
	if err != nil {
		return err
	}
	return a.dp.CheckPod(pi)
}

// gc releases this node's attachments of the configuration's network that
// the runtime no longer knows (CNI 1.1 GC, cni.dev/valid-attachments).
func (a *Agent) gc(ctx context.Context, req cnirpc.Request) error {
	conf, err := cnirpc.ParseNetConf(req.Config)
	if err != nil {
		return badRequest(err.Error())
	}
	valid := map[[2]string]bool{}
	for _, v := range conf.ValidAttachments {
		valid[[2]string{v.ContainerID, v.IfName}] = true
	}
	atts, err := a.nodeAttachments(ctx)
	if err != nil {
		return err
	}
	var errs []error
	for i := range atts {
		s := atts[i].Spec
		ns, name := networkRef(conf, atts[i].Namespace)
		// Edge attachments are no runtime's: the runtime never lists them.
		if s.IsEdge() || atts[i].Namespace != ns || s.Network != name || valid[[2]string{s.ContainerID, s.Interface}] {
			continue
		}
		if err := a.dp.DelPod(s.ContainerID, "", s.Interface); err != nil {
			errs = append(errs, err)
			continue
		}
		if err := a.client.Delete(ctx, &atts[i]); err != nil && !apierrors.IsNotFound(err) {
			errs = append(errs, err)
			continue
		}
		a.recent.Deleted(&atts[i], time.Now())
		a.log.Info("garbage-collected attachment", "network", name, "pod", s.Pod.Namespace+"/"+s.Pod.Name, "container", s.ContainerID)
	}
	return errors.Join(errs...)
}

// podEvent tells the pod's owner why its network could not be attached.
func (a *Agent) podEvent(ctx context.Context, req cnirpc.Request, err error) {
	pod, perr := cnirpc.PodArgs(req.Args)
	if perr != nil || pod.Name == "" {
		return
	}
	ref := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: pod.Namespace, Name: pod.Name, UID: types.UID(pod.UID)}}
	a.recorder.Event(ref, corev1.EventTypeWarning, "NetworkAttachFailed", err.Error())
}
