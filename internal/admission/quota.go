package admission

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"

	sbv1 "switchboard/api/v1alpha1"
	"switchboard/internal/podnet"
)

// Usage is what a namespace uses, as NetworkQuotaSpec counts it.
type Usage = sbv1.NetworkQuotaUsage

// podUsage counts what pod asks for: one attachment per element of its
// networks annotation, and as many addresses as the element names, or one
// if it names none and its Network has IPAM. A terminated pod holds
// nothing; an unparsable annotation counts nothing (it is refused, or
// predates the webhook and never attached).
func (v *Validator) podUsage(ctx context.Context, pod *corev1.Pod) (Usage, error) {
	if pod.Status.Phase == corev1.PodSucceeded || pod.Status.Phase == corev1.PodFailed {
		return Usage{}, nil
	}
	sels, err := podnet.Parse(pod.Annotations[podnet.Annotation])
	if err != nil {
		return Usage{}, nil
	}
	u := Usage{Attachments: int32(min(len(sels), 1<<20))}
	for _, s := range sels {
		if len(s.IPs) > 0 {
			u.Addresses += int32(min(len(s.IPs), MaxIPsPerSelect+1))
			continue
		}
		ns := s.Namespace
		if ns == "" {
			ns = pod.Namespace
		}
		var n sbv1.Network
		err := v.Reader.Get(ctx, client.ObjectKey{Namespace: ns, Name: s.Name}, &n)
		switch {
		case err == nil && n.Spec.IPAM != nil:
			u.Addresses++
		case err != nil && !apierrors.IsNotFound(err):
			return Usage{}, fmt.Errorf("get network %s/%s: %w", ns, s.Name, err)
		}
	}
	return u, nil
}

// NamespaceUsage counts namespace ns's usage, leaving out the pod named
// except (its old version, when it is the one being changed).
func (v *Validator) NamespaceUsage(ctx context.Context, ns, except string) (Usage, error) {
	var nets sbv1.NetworkList
	if err := v.Reader.List(ctx, &nets, client.InNamespace(ns)); err != nil {
		return Usage{}, fmt.Errorf("list networks of namespace %s: %w", ns, err)
	}
	var pods corev1.PodList
	if err := v.Reader.List(ctx, &pods, client.InNamespace(ns)); err != nil {
		return Usage{}, fmt.Errorf("list pods of namespace %s: %w", ns, err)
	}
	u := Usage{Networks: int32(len(nets.Items))}
	for i := range pods.Items {
		p := &pods.Items[i]
		if p.Name == except {
			continue
		}
		pu, err := v.podUsage(ctx, p)
		if err != nil {
			return Usage{}, err
		}
		u.Attachments += pu.Attachments
		u.Addresses += pu.Addresses
	}
	return u, nil
}

// limit is one field of a NetworkQuotaSpec, for messages.
type limit struct {
	field, what string
	max         *int32
	used        func(Usage) int32
}

func limits(q *sbv1.NetworkQuota) []limit {
	return []limit{
		{"spec.maxNetworks", "Networks", q.Spec.MaxNetworks, func(u Usage) int32 { return u.Networks }},
		{"spec.maxAttachments", "secondary interfaces", q.Spec.MaxAttachments, func(u Usage) int32 { return u.Attachments }},
		{"spec.maxAddresses", "secondary-network addresses", q.Spec.MaxAddresses, func(u Usage) int32 { return u.Addresses }},
	}
}

// checkQuotas refuses a change of namespace ns's usage from before to
// after that takes a NetworkQuota's limit above it. A change that does not
// grow a usage passes, even above a limit (lowered under what is used).
func (v *Validator) checkQuotas(quotas []sbv1.NetworkQuota, ns, object string, before, after Usage) error {
	r := &Refusal{}
	for i := range quotas {
		q := &quotas[i]
		for _, l := range limits(q) {
			b, a := l.used(before), l.used(after)
			if l.max == nil || a <= *l.max || a <= b {
				continue
			}
			r.add("NetworkQuota %s/%s %s is %d and namespace %s already uses %d %s; %s would make it %d: delete unused ones, or ask for a higher %s",
				ns, q.Name, l.field, *l.max, ns, b, l.what, object, a, l.field)
		}
	}
	return r.orNil()
}

// quotasOf lists namespace ns's NetworkQuotas.
func (v *Validator) quotasOf(ctx context.Context, ns string) ([]sbv1.NetworkQuota, error) {
	var quotas sbv1.NetworkQuotaList
	if err := v.Reader.List(ctx, &quotas, client.InNamespace(ns)); err != nil {
		return nil, fmt.Errorf("list networkquotas of namespace %s: %w", ns, err)
	}
	return quotas.Items, nil
}

// CheckPodQuota refuses pod (replacing old, nil on create) if it takes
// its namespace above a NetworkQuota. In a namespace without one it reads
// nothing else: counting the usage reads every pod of the namespace, which
// would make creating n pods cost n² reads.
func (v *Validator) CheckPodQuota(ctx context.Context, pod, old *corev1.Pod) error {
	quotas, err := v.quotasOf(ctx, pod.Namespace)
	if err != nil || len(quotas) == 0 {
		return err
	}
	others, err := v.NamespaceUsage(ctx, pod.Namespace, pod.Name)
	if err != nil {
		return err
	}
	before := others
	if old != nil {
		ou, err := v.podUsage(ctx, old)
		if err != nil {
			return err
		}
		before.Attachments += ou.Attachments
		before.Addresses += ou.Addresses
	}
	nu, err := v.podUsage(ctx, pod)
	if err != nil {
		return err
	}
	after := others
	after.Attachments += nu.Attachments
	after.Addresses += nu.Addresses
	return v.checkQuotas(quotas, pod.Namespace, "pod "+pod.Name, before, after)
}

// CheckNetworkQuota refuses a new Network if its namespace has as many as
// a NetworkQuota allows.
func (v *Validator) CheckNetworkQuota(ctx context.Context, n *sbv1.Network) error {
	quotas, err := v.quotasOf(ctx, n.Namespace)
	if err != nil || len(quotas) == 0 {
		return err
	}
	var nets sbv1.NetworkList
	if err := v.Reader.List(ctx, &nets, client.InNamespace(n.Namespace)); err != nil {
		return fmt.Errorf("list networks of namespace %s: %w", n.Namespace, err)
	}
	before := Usage{}
	for _, it := range nets.Items {
		if it.Name != n.Name {
			before.Networks++
		}
	}
	after := before
	after.Networks++
	return v.checkQuotas(quotas, n.Namespace, "network "+n.Name, before, after)
}
