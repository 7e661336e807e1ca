package operator

import (
	"context"
	"errors"
	"fmt"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	"switchboard/api/v1alpha1"
	"switchboard/internal/ipam"
)

// VNIs the operator assigns: below 4096 is left to VLAN-style uses and to
// hand-made tunnels; 2^24-1 is the largest VXLAN network identifier.
const (
	MinVNI = 4096
	MaxVNI = 1<<24 - 1
)

// errVNIExhausted: every VNI in [MinVNI, MaxVNI] is taken.
var errVNIExhausted = errors.New("every VNI is taken")

// converge validates net, makes sure it has a VNI and a NAD, and returns
// the Ready condition to record, or nil with the error when it could not
// find out (the condition stays as it was). An invalid spec publishes
// nothing new and removes nothing: the VNI and the NAD stay as they were.
func (r *NetworkReconciler) converge(ctx context.Context, net *v1alpha1.Network) (*metav1.Condition, time.Duration, error) {
	notReady := func(reason, format string, args ...any) *metav1.Condition {
		return &metav1.Condition{Type: v1alpha1.ConditionReady, Status: metav1.ConditionFalse,
			Reason: reason, Message: fmt.Sprintf(format, args...)}
	}
	switch t := net.Spec.Type; {
	case t == v1alpha1.ExtVNet && r.Registrar == nil:
		return notReady(v1alpha1.ReasonUnsupportedType,
			"type %s needs the operator in inter-cluster mode: run switchboard-operator with --inter-cluster (see docs/inter-cluster.md), or use type: %s", t, v1alpha1.VNet), 0, nil
	case t != "" && t != v1alpha1.VNet && t != v1alpha1.ExtVNet:
		return notReady(v1alpha1.ReasonUnsupportedType,
			"type %q is not supported by this version: use type: %s", t, v1alpha1.VNet), 0, nil
	}
	if msg := r.validateIPAM(net.Spec.IPAM); msg != "" {
		return notReady(v1alpha1.ReasonInvalidSpec, "%s", msg), 0, nil
	}
	if _, err := net.Spec.Bandwidth.Limits(); err != nil {
		return notReady(v1alpha1.ReasonInvalidSpec, "%v", err), 0, nil
	}
	if net.Status.VNI == 0 {
		vni, err := r.freeVNI(ctx, net)
		if errors.Is(err, errVNIExhausted) {
			return notReady(v1alpha1.ReasonVNIExhausted,
				"%s (%d-%d): delete unused Networks to free one", err, MinVNI, MaxVNI), time.Minute, nil
		}
		if err != nil {
			return nil, 0, err
		}
		net.Status.VNI = vni
	}
	msg, err := r.publishNAD(ctx, net)
	if err != nil {
		return nil, 0, err
	}
	if msg != "" {
		return notReady(v1alpha1.ReasonInvalidSpec, "%s", msg), 0, nil
	}
	// A network that moved to another provider, or is no longer ext-vnet,
	// leaves the one that has it first.
	if c, after := r.deregister(ctx, net); c != nil {
		return c, after, nil
	}
	if net.Spec.Type == v1alpha1.ExtVNet {
		inter, err := r.Registrar.Register(ctx, net)
		if err != nil {
			return registrationRefused(net, err)
		}
		net.Status.InterClusterVNI = int32(inter)
		net.Status.RegisteredProvider = net.Spec.Provider.DeepCopy()
		return &metav1.Condition{Type: v1alpha1.ConditionReady, Status: metav1.ConditionTrue,
			Reason: v1alpha1.ReasonRegistered, Message: fmt.Sprintf("VNI %d; registered with provider %s (inter-cluster VNI %d); pods join with the k8s.v1.cni.cncf.io/networks annotation and a signed token",
				net.Status.VNI, net.Spec.Provider.Name, inter)}, 0, nil
	}
	return &metav1.Condition{Type: v1alpha1.ConditionReady, Status: metav1.ConditionTrue,
		Reason: v1alpha1.ReasonReady, Message: fmt.Sprintf("VNI %d; pods join with the k8s.v1.cni.cncf.io/networks annotation", net.Status.VNI)}, 0, nil
}

// nameConflictRetry is how often a Network whose name another Network
// holds at the provider tries again; the holder's deletion in this cluster
// brings it back at once (see sameNameElsewhere).
const nameConflictRetry = 5 * time.Minute

// registrationRefused returns the Ready condition for a failed
// registration of net, and when to try again. An error that carries a
// condition reason (a name conflict, a provider that is not allowed, an
// invalid provider name) is the owner's to fix: it is not retried soon. On
// a name conflict, net holds nothing at the provider: its status forgets
// the registration, so that its deletion never deregisters the holder's.
func registrationRefused(net *v1alpha1.Network, err error) (*metav1.Condition, time.Duration, error) {
	c := &metav1.Condition{Type: v1alpha1.ConditionReady, Status: metav1.ConditionFalse,
		Reason: v1alpha1.ReasonRegistrationFailed, Message: err.Error() + "; retrying"}
	var why interface{ ConditionReason() string }
	if !errors.As(err, &why) {
		return c, 15 * time.Second, nil
	}
	c.Reason, c.Message = why.ConditionReason(), err.Error()
	if c.Reason != v1alpha1.ReasonNameConflict {
		return c, 0, nil
	}
	net.Status.RegisteredProvider, net.Status.InterClusterVNI = nil, 0
	return c, nameConflictRetry, nil
}

// validateIPAM returns what is wrong with spec ("" if nothing): an invalid
// pool, or a cidr overlapping the cluster's own ranges.
func (r *NetworkReconciler) validateIPAM(spec *v1alpha1.IPAM) string {
	if spec == nil {
		return ""
	}
	pool, err := ipam.NewPool(*spec)
	if err != nil {
		return err.Error()
	}
	for _, res := range r.Reserved {
		if pool.Overlaps(res.Prefix) {
			return fmt.Sprintf("ipam.cidr %s overlaps %s %s: choose a cidr outside it", pool.Prefix(), res.Name, res.Prefix)
		}
	}
	return ""
}

// freeVNI returns the VNI net already holds in the API server, or else the
// lowest one no other Network holds. It lists from the API server, not
// the cache: a VNI this reconciler assigned a moment ago may not be in the
// cache yet. With one worker and one leader, nothing else assigns VNIs
// between the list and the status update that records the choice.
func (r *NetworkReconciler) freeVNI(ctx context.Context, net *v1alpha1.Network) (int32, error) {
	var list v1alpha1.NetworkList
	if err := r.APIReader.List(ctx, &list); err != nil {
		return 0, fmt.Errorf("list networks: %w", err)
	}
	used := make(map[int32]bool, len(list.Items))
	for _, n := range list.Items {
		if n.UID == net.UID && n.Status.VNI != 0 {
			return n.Status.VNI, nil
		}
		used[n.Status.VNI] = true
	}
	for vni := int32(MinVNI); vni <= MaxVNI; vni++ {
		if !used[vni] {
			return vni, nil
		}
	}
	return 0, errVNIExhausted
}

// publishNAD creates or updates net's NetworkAttachmentDefinition. It
// returns a message, and changes nothing, when a NAD of that name exists
// that net does not own. A Network made from a user's NAD (seed format)
// uses that NAD as it is.
func (r *NetworkReconciler) publishNAD(ctx context.Context, net *v1alpha1.Network) (string, error) {
	key := client.ObjectKeyFromObject(net)
	nad := newNAD()
	err := r.Client.Get(ctx, key, nad)
	switch {
	case apierrors.IsNotFound(err):
		nad = newNAD()
		nad.SetNamespace(net.Namespace)
		nad.SetName(net.Name)
		setNADConfig(nad, NADConfig(net))
		if err := controllerutil.SetControllerReference(net, nad, r.Client.Scheme()); err != nil {
			return "", fmt.Errorf("set owner of networkattachmentdefinition %q: %w", key, err)
		}
		if err := r.Client.Create(ctx, nad); err != nil {
			return "", fmt.Errorf("create networkattachmentdefinition %q: %w", key, err)
		}
		return "", nil
	case err != nil:
		return "", fmt.Errorf("get networkattachmentdefinition %q: %w", key, err)
	case madeFrom(net, nad.GetUID()):
		return "", nil
	case !metav1.IsControlledBy(nad, net):
		return fmt.Sprintf("NetworkAttachmentDefinition %s exists and is not managed by this Network: delete it, or give the Network another name", key), nil
	}
	if want := NADConfig(net); nadConfig(nad) != want {
		setNADConfig(nad, want)
		if err := r.Client.Update(ctx, nad); err != nil {
			return "", fmt.Errorf("update networkattachmentdefinition %q: %w", key, err)
		}
	}
	return "", nil
}
