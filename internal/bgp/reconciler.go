package bgp

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"time"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/manager"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	sbv1 "switchboard/api/v1alpha1"
)

// +kubebuilder:rbac:groups=switchboard.dev,resources=bgppeers;bgpadvertisements,verbs=get;list;watch
// +kubebuilder:rbac:groups=switchboard.dev,resources=networks;attachments,verbs=get;list;watch
// +kubebuilder:rbac:groups="",resources=nodes,verbs=get;list;watch
// +kubebuilder:rbac:groups="",namespace=switchboard-system,resources=secrets,verbs=get

// Setter converges a speaker on a Config: the Speaker, or a fake.
type Setter interface {
	Set(ctx context.Context, cfg Config) error
}

// Reconciler drives one node's speaker from the API: on every change of
// a BGPPeer, BGPAdvertisement, Network, Attachment or of its Node, it
// computes the node's Config (Desired) and sets it.
type Reconciler struct {
	Client    client.Reader // the cache: BGPPeers, BGPAdvertisements, Networks, Attachments, Nodes
	APIReader client.Reader // password Secrets, read past the cache, never watched
	Speaker   Setter
	NodeName  string
	NodeIP    netip.Addr // the next hop of every route
	// Namespace is Switchboard's own, where password Secrets live.
	Namespace string
	Log       logr.Logger
}

// syncKey is the single work item: every change recomputes the node.
var syncKey = reconcile.Request{NamespacedName: types.NamespacedName{Name: "bgp"}}

// resync is how often the node is recomputed with no event: password
// Secrets are read, not watched (the agent may read only Switchboard's
// namespace's Secrets, and a cluster-wide watch would need more), so a
// changed password takes effect within this period.
const resync = time.Minute

// SetupWithManager registers the reconciler with the agent's manager.
func (r *Reconciler) SetupWithManager(mgr manager.Manager) error {
	toNode := handler.EnqueueRequestsFromMapFunc(func(context.Context, client.Object) []reconcile.Request {
		return []reconcile.Request{syncKey}
	})
	thisNode := predicate.NewPredicateFuncs(func(o client.Object) bool { return o.GetName() == r.NodeName })
	return ctrl.NewControllerManagedBy(mgr).Named("bgp").
		Watches(&sbv1.BGPPeer{}, toNode).
		Watches(&sbv1.BGPAdvertisement{}, toNode).
		Watches(&sbv1.Network{}, toNode).
		Watches(&sbv1.Attachment{}, toNode).
		Watches(&corev1.Node{}, toNode, builder.WithPredicates(thisNode)).
		Complete(r)
}

// Reconcile reads the world, computes this node's Config and sets it.
// Objects Desired cannot use are logged, each naming its field and fix,
// and left out; the rest is applied.
func (r *Reconciler) Reconcile(ctx context.Context, _ reconcile.Request) (reconcile.Result, error) {
	w, err := r.world(ctx)
	if err != nil {
		return reconcile.Result{}, err
	}
	cfg, problems := Desired(w)
	for _, p := range problems {
		r.Log.Error(p, "bgp: left out of this node's speaker", "node", r.NodeName)
	}
	if err := r.Speaker.Set(ctx, cfg); err != nil {
		return reconcile.Result{}, fmt.Errorf("set bgp speaker: %w", err)
	}
	return reconcile.Result{RequeueAfter: resync}, nil
}

// world reads what Desired needs.
func (r *Reconciler) world(ctx context.Context) (World, error) {
	var node corev1.Node
	if err := r.Client.Get(ctx, types.NamespacedName{Name: r.NodeName}, &node); err != nil {
		return World{}, fmt.Errorf("get node %q: %w", r.NodeName, err)
	}
	var peers sbv1.BGPPeerList
	var ads sbv1.BGPAdvertisementList
	var nets sbv1.NetworkList
	var atts sbv1.AttachmentList
	for _, l := range []client.ObjectList{&peers, &ads, &nets, &atts} {
		if err := r.Client.List(ctx, l); err != nil {
			return World{}, err
		}
	}
	podCIDRs := node.Spec.PodCIDRs
	if len(podCIDRs) == 0 && node.Spec.PodCIDR != "" {
		podCIDRs = []string{node.Spec.PodCIDR}
	}
	return World{
		Node:           Node{Name: r.NodeName, IP: r.NodeIP, Labels: node.Labels, PodCIDRs: podCIDRs},
		Peers:          peers.Items,
		Advertisements: ads.Items,
		Networks:       nets.Items,
		Attachments:    atts.Items,
		Password:       func(k sbv1.BGPSecretKey) (string, error) { return r.password(ctx, k) },
	}, nil
}

// password reads a Secret key in Switchboard's namespace.
func (r *Reconciler) password(ctx context.Context, k sbv1.BGPSecretKey) (string, error) {
	var s corev1.Secret
	err := r.APIReader.Get(ctx, types.NamespacedName{Namespace: r.Namespace, Name: k.Name}, &s)
	if apierrors.IsNotFound(err) {
		return "", fmt.Errorf("secret %s/%s not found", r.Namespace, k.Name)
	}
	if err != nil {
		return "", fmt.Errorf("read secret %s/%s: %w", r.Namespace, k.Name, err)
	}
	v, ok := s.Data[k.Key]
	if !ok {
		return "", errors.New("secret " + r.Namespace + "/" + k.Name + " has no key " + k.Key)
	}
	return string(v), nil
}

// NodeOptions are what the agent's command gives the node's BGP room.
type NodeOptions struct {
	NodeName string
	NodeIP   netip.Addr // the next hop of every route
	// RouterID is the BGP identifier; zero: NodeIP, which must then be
	// IPv4.
	RouterID  netip.Addr
	Namespace string // Switchboard's, where password Secrets live
	Log       logr.Logger
}

// Setup starts the node's speaker and registers its reconciler with mgr
// (the agent's manager). The speaker lives as long as the process and is
// never stopped: an agent that stops sends no NOTIFICATION, so routers
// keep its routes through a restart (graceful restart).
func Setup(ctx context.Context, mgr manager.Manager, o NodeOptions) error {
	id := o.RouterID
	if !id.IsValid() {
		id = o.NodeIP
	}
	if !id.Is4() {
		return fmt.Errorf("--bgp-router-id: node %q has no IPv4 underlay address (%s) to be its BGP identifier; set an IPv4 address unique among the routers' peers", o.NodeName, o.NodeIP)
	}
	sp, err := NewSpeaker(ctx, Options{RouterID: id, Logger: slog.New(logr.ToSlogHandler(o.Log.WithName("gobgp")))})
	if err != nil {
		return err
	}
	r := &Reconciler{
		Client: mgr.GetClient(), APIReader: mgr.GetAPIReader(), Speaker: sp,
		NodeName: o.NodeName, NodeIP: o.NodeIP, Namespace: o.Namespace, Log: o.Log.WithName("bgp"),
	}
	if err := r.SetupWithManager(mgr); err != nil {
		return fmt.Errorf("create bgp controller: %w", err)
	}
	return nil
}
