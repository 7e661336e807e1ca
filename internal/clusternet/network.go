package clusternet

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"strings"
	"sync"

	types100 "github.com/containernetworking/cni/pkg/types/100"
	"github.com/go-logr/logr"
	"github.com/vishvananda/netlink"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/manager"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	sbv1 "switchboard/api/v1alpha1"
	"switchboard/internal/cnirpc"
	"switchboard/internal/firewall"
	"switchboard/internal/firewall/isolation"
	"switchboard/internal/netdev"
	"switchboard/internal/netdev/devname"
)

// +kubebuilder:rbac:groups="",resources=pods;namespaces,verbs=get;list;watch
// +kubebuilder:rbac:groups="",resources=nodes,verbs=get;list;watch
// +kubebuilder:rbac:groups=switchboard.dev,resources=networks,verbs=get;list;watch

// PodInterfaces is the iifname pattern of the host ends of pods' primary
// interfaces.
const PodInterfaces = devname.PrefixPrimaryPort + "*"

// Options configure a Network.
type Options struct {
	NodeName string
	NodeIP   netip.Addr
	Log      logr.Logger
}

// Network is the cluster's primary pod network on one node. Its methods
// are safe for concurrent use.
type Network struct {
	opts    Options
	log     logr.Logger
	h       *netlink.Handle
	dev     *netdev.Devices
	mtu     int
	cache   client.Reader
	api     client.Reader
	refresh func(context.Context) error

	mu sync.Mutex // serialises allocation and creation of pod interfaces
}

// New opens the node's netlink and finds the underlay's MTU (the pods'
// MTU: routed, no encapsulation).
func New(opts Options) (*Network, error) {
	if opts.NodeName == "" || !opts.NodeIP.IsValid() {
		return nil, errors.New("primary network needs the node name and IP (NODE_NAME, NODE_IP)")
	}
	h, err := netdev.OpenHandle("")
	if err != nil {
		return nil, err
	}
	under, err := netdev.LinkWithAddr(h, opts.NodeIP)
	if err != nil {
		h.Close()
		return nil, err
	}
	// The node routes between its pods and to other nodes' pods. (The
	// agent runs in the node's network namespace: hostNetwork.)
	if err := enableForwarding(); err != nil {
		h.Close()
		return nil, err
	}
	return &Network{opts: opts, log: opts.Log.WithName("primary"), h: h, dev: netdev.New(h, nil), mtu: under.Attrs().MTU}, nil
}

const ipForward = "/proc/sys/net/ipv4/ip_forward"

func enableForwarding() error {
	b, err := os.ReadFile(ipForward)
	if err == nil && strings.TrimSpace(string(b)) == "1" {
		return nil
	}
	if err := os.WriteFile(ipForward, []byte("1"), 0o644); err != nil {
		return fmt.Errorf("enable IPv4 forwarding on the node (%s): %w: the agent must run privileged with hostNetwork", ipForward, err)
	}
	return nil
}

// PodInterfaces is the iifname pattern of the pods' host ends.
func (n *Network) PodInterfaces() string { return PodInterfaces }

// Setup registers the network's loop with the manager: every change of a
// Node (routes), Pod or Namespace (isolation) converges the routes and
// calls refresh, which sets the node's table (whose Rules come from here).
func (n *Network) Setup(mgr manager.Manager, refresh func(context.Context) error) error {
	n.cache, n.api, n.refresh = mgr.GetCache(), mgr.GetAPIReader(), refresh
	key := reconcile.Request{NamespacedName: types.NamespacedName{Name: "primary"}}
	all := handler.EnqueueRequestsFromMapFunc(func(context.Context, client.Object) []reconcile.Request { return []reconcile.Request{key} })
	return ctrl.NewControllerManagedBy(mgr).Named("primary").
		Watches(&corev1.Node{}, all).
		Watches(&corev1.Pod{}, all).
		Watches(&corev1.Namespace{}, all).
		Complete(reconcile.Func(n.sync))
}

func (n *Network) sync(ctx context.Context, _ reconcile.Request) (reconcile.Result, error) {
	var nodes corev1.NodeList
	if err := n.cache.List(ctx, &nodes); err != nil {
		return reconcile.Result{}, err
	}
	want := map[netip.Prefix]netip.Addr{}
	for _, node := range nodes.Items {
		if node.Name == n.opts.NodeName {
			continue
		}
		cidr, err := podCIDR(&node)
		ip := internalIP(&node)
		if err != nil || !ip.IsValid() {
			continue // not allocated yet: a later event brings it
		}
		want[cidr] = ip
	}
	n.mu.Lock()
	err := syncRoutes(n.h, want)
	n.mu.Unlock()
	if err != nil {
		return reconcile.Result{}, err
	}
	return reconcile.Result{}, n.refresh(ctx)
}

func podCIDR(node *corev1.Node) (netip.Prefix, error) {
	for _, c := range append([]string{node.Spec.PodCIDR}, node.Spec.PodCIDRs...) {
		if p, err := netip.ParsePrefix(c); err == nil && p.Addr().Is4() {
			return p.Masked(), nil
		}
	}
	return netip.Prefix{}, fmt.Errorf("node %s has no IPv4 spec.podCIDR yet: run kube-controller-manager with --allocate-node-cidrs and --cluster-cidr", node.Name)
}

func internalIP(node *corev1.Node) netip.Addr {
	for _, a := range node.Status.Addresses {
		if a.Type == corev1.NodeInternalIP {
			if ip, err := netip.ParseAddr(a.Address); err == nil && ip.Is4() {
				return ip
			}
		}
	}
	return netip.Addr{}
}

// HandleCNI serves a CNI request for the primary network's configuration.
func (n *Network) HandleCNI(ctx context.Context, req cnirpc.Request) (json.RawMessage, error) {
	switch req.Command {
	case "ADD":
		return n.add(ctx, req)
	case "DEL":
		return nil, n.del(ctx, req)
	case "CHECK":
		l, err := n.dev.Find(devname.Hashed(devname.PrefixPrimaryPort, req.ContainerID, req.IfName), "veth")
		if err == nil && l == nil {
			err = fmt.Errorf("pod interface %s of container %s is missing: delete the pod to recreate it", req.IfName, req.ContainerID)
		}
		return nil, err
	case "GC", "STATUS":
		return nil, nil
	}
	return nil, fmt.Errorf("unknown CNI command %q", req.Command)
}

func (n *Network) add(ctx context.Context, req cnirpc.Request) (json.RawMessage, error) {
	conf, err := cnirpc.ParseNetConf(req.Config)
	if err != nil {
		return nil, err
	}
	ref, err := cnirpc.PodArgs(req.Args)
	if err != nil {
		return nil, err
	}
	var ns corev1.Namespace
	if err := n.api.Get(ctx, client.ObjectKey{Name: ref.Namespace}, &ns); err != nil {
		return nil, fmt.Errorf("read namespace %s: %w", ref.Namespace, err)
	}
	var pod corev1.Pod
	if err := n.api.Get(ctx, client.ObjectKey{Namespace: ref.Namespace, Name: ref.Name}, &pod); err != nil {
		return nil, fmt.Errorf("read pod %s/%s: %w", ref.Namespace, ref.Name, err)
	}
	m, err := MembershipOf(&ns, &pod)
	if err != nil {
		return nil, err
	}
	if m.Custom != nil {
		var nw sbv1.Network
		err := n.api.Get(ctx, client.ObjectKey{Namespace: m.Custom.Namespace, Name: m.Custom.Name}, &nw)
		if apierrors.IsNotFound(err) {
			e := m.customBy
			e.Fix = fmt.Sprintf("Network %s does not exist: create it, or correct the annotation", m.Custom)
			return nil, &e
		}
		if err != nil {
			return nil, fmt.Errorf("read Network %s: %w", m.Custom, err)
		}
	}
	var self corev1.Node
	if err := n.cache.Get(ctx, client.ObjectKey{Name: n.opts.NodeName}, &self); err != nil {
		return nil, fmt.Errorf("read node %s: %w", n.opts.NodeName, err)
	}
	cidr, err := podCIDR(&self)
	if err != nil {
		return nil, err
	}
	lp, mac, err := n.create(req, cidr, localPod{namespace: ref.Namespace, name: ref.Name, network: m.Network, open: m.ServicesOpen})
	if err != nil {
		return nil, err
	}
	// The pod sends nothing before ADD returns: its address is in the
	// isolation sets by then.
	if err := n.refresh(ctx); err != nil {
		_, _ = n.dev.Delete(lp.hostIf)
		return nil, fmt.Errorf("set the isolation rules for the new pod: %w", err)
	}
	n.log.Info("added pod", "pod", ref.Namespace+"/"+ref.Name, "ip", lp.ip.String(), "network", m.Network)
	zero := 0
	res := &types100.Result{
		CNIVersion: types100.ImplementedSpecVersion,
		Interfaces: []*types100.Interface{{Name: req.IfName, Mac: mac.String(), Sandbox: req.NetNS}},
		IPs: []*types100.IPConfig{{Interface: &zero, Address: net.IPNet{IP: lp.ip.AsSlice(), Mask: net.CIDRMask(32, 32)},
			Gateway: Gateway(cidr).AsSlice()}},
	}
	ver, err := res.GetAsVersion(conf.CNIVersion)
	if err != nil {
		return nil, err
	}
	return json.Marshal(ver)
}

// create allocates the pod's address and makes its interface, or finds
// the one an earlier ADD of the same container made.
func (n *Network) create(req cnirpc.Request, cidr netip.Prefix, lp localPod) (localPod, net.HardwareAddr, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	pods, err := listPods(n.h)
	if err != nil {
		return localPod{}, nil, err
	}
	hostIf := devname.Hashed(devname.PrefixPrimaryPort, req.ContainerID, req.IfName)
	used := map[netip.Addr]bool{}
	for _, p := range pods {
		used[p.ip] = true
		if p.hostIf == hostIf { // a repeated ADD: start again
			if _, err := n.dev.Delete(hostIf); err != nil {
				return localPod{}, nil, err
			}
			delete(used, p.ip)
		}
	}
	ip, err := Allocate(cidr, used)
	if err != nil {
		return localPod{}, nil, err
	}
	lp.hostIf, lp.ip = hostIf, ip
	mac, err := addPod(n.dev, n.h, podLink{hostIf: hostIf, ifName: req.IfName, netNS: req.NetNS, mtu: n.mtu, gw: Gateway(cidr), pod: lp})
	return lp, mac, err
}

func (n *Network) del(ctx context.Context, req cnirpc.Request) error {
	if err := n.deleteLink(req); err != nil {
		return err
	}
	if err := n.refresh(ctx); err != nil {
		n.log.Error(err, "refresh isolation rules after DEL")
	}
	return nil
}

// deleteLink deletes the pod interface's host end (and so the pair, its
// routes and the record); one already gone is success.
func (n *Network) deleteLink(req cnirpc.Request) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	_, err := n.dev.Delete(devname.Hashed(devname.PrefixPrimaryPort, req.ContainerID, req.IfName))
	return err
}

// Rules returns the isolation sets and chain for the node's table: every
// pod of the cluster by its pod network, this node's from the kernel (known
// from the ADD on, before the API shows the pod's address).
func (n *Network) Rules(ctx context.Context) (firewall.Spec, error) {
	if n.cache == nil {
		return firewall.Spec{}, errors.New("primary network: Setup was not called")
	}
	var nsl corev1.NamespaceList
	if err := n.cache.List(ctx, &nsl); err != nil {
		return firewall.Spec{}, err
	}
	nss := map[string]*corev1.Namespace{}
	for i := range nsl.Items {
		nss[nsl.Items[i].Name] = &nsl.Items[i]
	}
	var pl corev1.PodList
	if err := n.cache.List(ctx, &pl); err != nil {
		return firewall.Spec{}, err
	}
	n.mu.Lock()
	local, err := listPods(n.h)
	n.mu.Unlock()
	if err != nil {
		return firewall.Spec{}, err
	}
	return isolation.Spec(classify(n.opts.NodeName, nss, pl.Items, local, n.log))
}
