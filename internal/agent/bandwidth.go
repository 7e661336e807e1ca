package agent

import (
	"fmt"
	"sort"

	sbv1 "switchboard/api/v1alpha1"
	"switchboard/internal/bandwidth"
)

// podLimits is what a pod interface on network n is shaped to: the
// network's limits, with each direction the pod asked for (its own
// request, pod, may be nil) replacing the network's.
func podLimits(n *sbv1.Network, pod *bandwidth.CNI) (bandwidth.Limits, error) {
	nl, err := n.Spec.Bandwidth.Limits()
	if err != nil {
		return bandwidth.Limits{}, fmt.Errorf("network %s/%s is invalid: %w", n.Namespace, n.Name, err)
	}
	if pod == nil {
		return nl, nil
	}
	pl, err := pod.Limits()
	if err != nil {
		return bandwidth.Limits{}, fmt.Errorf("bandwidth of the pod's selection of network %s/%s in its k8s.v1.cni.cncf.io/networks annotation: %w", n.Namespace, n.Name, err)
	}
	return bandwidth.Override(nl, pl), nil
}

// podShape is what one local pod interface should be shaped to.
type podShape struct {
	containerID, netNS, ifName string
	limits                     bandwidth.Limits
}

// desiredShapes computes, from the API alone, the limits of every pod
// interface on this node whose Attachment records its namespace, by
// Attachment (namespace/name). Interfaces of an invalid network, or with an
// invalid request, are left out (their ADD was refused, or the network
// became invalid since: they keep what they have).
func desiredShapes(node string, networks []sbv1.Network, attachments []sbv1.Attachment) map[string]podShape {
	nets := map[string]*sbv1.Network{}
	for i := range networks {
		nets[networks[i].Namespace+"/"+networks[i].Name] = &networks[i]
	}
	out := map[string]podShape{}
	for _, a := range attachments {
		n, ok := nets[a.Namespace+"/"+a.Spec.Network]
		if a.Spec.Node != node || a.Spec.IsEdge() || a.Spec.NetNS == "" || !ok {
			continue
		}
		var pod *bandwidth.CNI
		if a.Spec.Bandwidth != nil {
			c := a.Spec.Bandwidth.CNI()
			pod = &c
		}
		l, err := podLimits(n, pod)
		if err != nil {
			continue
		}
		out[a.Namespace+"/"+a.Name] = podShape{containerID: a.Spec.ContainerID, netNS: a.Spec.NetNS, ifName: a.Spec.Interface, limits: l}
	}
	return out
}

// shapePods brings every local pod interface to its limits: those whose
// limits differ from what this agent last applied (all of them after a
// restart: ShapePod is convergent and leaves matching ones alone). A pod
// whose interface is gone (being deleted) is logged and tried again at the
// next sync. Called by sync, which owns a.shaped.
func (a *Agent) shapePods(want map[string]podShape) {
	keys := make([]string, 0, len(want))
	for k := range want {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		s := want[k]
		if have, ok := a.shaped[k]; ok && have == s {
			continue
		}
		if err := a.dp.ShapePod(s.containerID, s.netNS, s.ifName, s.limits); err != nil {
			a.log.Info("could not shape pod interface", "attachment", k, "error", err.Error())
			delete(a.shaped, k)
			continue
		}
		a.shaped[k] = s
	}
	for k := range a.shaped {
		if _, ok := want[k]; !ok {
			delete(a.shaped, k)
		}
	}
}
