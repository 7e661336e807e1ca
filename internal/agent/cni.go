package agent

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"time"

	"github.com/containernetworking/cni/pkg/types"
	types100 "github.com/containernetworking/cni/pkg/types/100"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"

	sbv1 "switchboard/api/v1alpha1"
	"switchboard/internal/bandwidth"
	"switchboard/internal/cnirpc"
	"switchboard/internal/dataplane"
)

// CNI error codes beyond the spec's own (the spec reserves 100+ for plugins).
const (
	codeBadRequest   = 100 // the pod or network asks for something that cannot be done; fix the input
	codeAgentFailure = 101 // the agent failed; retrying may help
)

// requestError is an error that goes back to the runtime with a code.
type requestError struct {
	code uint
	msg  string
}

func (e *requestError) Error() string { return e.msg }

func badRequest(msg string) error { return &requestError{code: codeBadRequest, msg: msg} }

func invalidNetwork(n *sbv1.Network, err error) error {
	return badRequest(fmt.Sprintf("network %s/%s is invalid: %v", n.Namespace, n.Name, err))
}

// Handle serves one CNI request from the plugin. It implements server.Handler.
func (a *Agent) Handle(ctx context.Context, req cnirpc.Request) *cnirpc.Response {
	start := time.Now()
	res, err := a.handle(ctx, req)
	result := "ok"
	if err != nil {
		result = "error"
	}
	a.metrics.cniRequests.WithLabelValues(req.Command, result).Inc()
	a.metrics.cniDuration.WithLabelValues(req.Command).Observe(time.Since(start).Seconds())
	if err == nil {
		return &cnirpc.Response{Result: res}
	}
	a.log.Info("CNI request failed", "command", req.Command, "container", req.ContainerID, "interface", req.IfName, "error", err.Error())
	var re *requestError
	if errors.As(err, &re) {
		return &cnirpc.Response{Error: types.NewError(re.code, re.msg, "")}
	}
	return &cnirpc.Response{Error: types.NewError(codeAgentFailure, err.Error(), "")}
}

func (a *Agent) handle(ctx context.Context, req cnirpc.Request) (json.RawMessage, error) {
	if req.Command != "STATUS" && req.Command != "GC" {
		if conf, err := cnirpc.ParseNetConf(req.Config); err == nil && conf.Primary {
			if a.opts.Primary == nil {
				return nil, badRequest(`configuration has "primary": true but this agent does not run the primary network: start switchboard-agent with --primary (switchboard lab up --primary=switchboard)`)
			}
			res, err := a.opts.Primary.HandleCNI(ctx, req)
			if br, ok := errors.AsType[interface {
				error
				BadRequest() bool
			}](err); ok && br.BadRequest() {
				return nil, badRequest(err.Error())
			}
			return res, err
		}
	}
	switch req.Command {
	case "STATUS":
		return nil, a.ready()
	case "ADD":
		return a.add(ctx, req)
	case "DEL":
		return nil, a.del(ctx, req)
	case "CHECK":
		return nil, a.check(ctx, req)
	case "GC":
		return nil, a.gc(ctx, req)
	}
	return nil, badRequest(fmt.Sprintf("unknown CNI command %q", req.Command))
}

// target is what a request refers to: the pod, the network and its config.
type target struct {
	conf    *cnirpc.NetConf
	pod     sbv1.PodRef
	network *sbv1.Network
}

func (a *Agent) resolve(ctx context.Context, req cnirpc.Request) (*target, error) {
	conf, err := cnirpc.ParseNetConf(req.Config)
	if err != nil {
		return nil, badRequest(err.Error())
	}
	pod, err := cnirpc.PodArgs(req.Args)
	if err != nil {
		return nil, badRequest(err.Error())
	}
	ref := sbv1.PodRef{Namespace: pod.Namespace, Name: pod.Name, UID: pod.UID}
	ns, name := networkRef(conf, ref.Namespace)
	var n sbv1.Network
	if err := a.cache.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, &n); err != nil {
		if apierrors.IsNotFound(err) {
			return nil, badRequest(fmt.Sprintf("network %s/%s not found: create the Network, or fix the name in the pod's k8s.v1.cni.cncf.io/networks annotation", ns, name))
		}
		return nil, fmt.Errorf("get network %s/%s: %w", ns, name, err)
	}
	return &target{conf: conf, pod: ref, network: &n}, nil
}

// networkRef names the Network a configuration refers to: "network" in
// configs the operator publishes; the configuration's name, in the pod's
// namespace, for NetworkAttachmentDefinitions written by hand (seed format).
func networkRef(conf *cnirpc.NetConf, podNamespace string) (ns, name string) {
	if conf.Network != "" {
		if ns, name, ok := strings.Cut(conf.Network, "/"); ok {
			return ns, name
		}
		return podNamespace, conf.Network
	}
	return podNamespace, conf.Name
}

// admit checks that the pod may join the network and that the network is
// usable; for an ext-vnet network it waits for the operator's decision (see
// awaitAuthorization).
func (a *Agent) admit(ctx context.Context, n *sbv1.Network, pod sbv1.PodRef) error {
	if err := admitNetwork(n, pod); err != nil {
		return err
	}
	if n.Spec.Type == sbv1.ExtVNet {
		return a.awaitAuthorization(ctx, n, pod)
	}
	return nil
}

// admitNetwork is admit's part that needs nothing but the network.
func admitNetwork(n *sbv1.Network, pod sbv1.PodRef) error {
	if t := n.Spec.Type; t != "" && t != sbv1.VNet && t != sbv1.ExtVNet {
		return badRequest(fmt.Sprintf("network %s/%s has type %q, which this version does not support: use type vnet or ext-vnet", n.Namespace, n.Name, t))
	}
	if err := n.CheckNamespace(pod.Namespace); err != nil {
		return badRequest(err.Error())
	}
	if _, err := n.Spec.Bandwidth.Limits(); err != nil {
		return invalidNetwork(n, err)
	}
	if n.Status.VNI == 0 {
		return &requestError{code: types.ErrTryAgainLater, msg: fmt.Sprintf("network %s/%s is not ready yet (no VNI assigned): is switchboard-operator running? see `kubectl describe network -n %s %s`", n.Namespace, n.Name, n.Namespace, n.Name)}
	}
	return nil
}

// add serves ADD: it resolves the request, then attaches the pod.
func (a *Agent) add(ctx context.Context, req cnirpc.Request) (json.RawMessage, error) {
	defer a.startADD(req.ContainerID, req.IfName)()
	phase := a.phaseTimer()
	t, err := a.resolve(ctx, req)
	if err != nil {
		a.podEvent(ctx, req, err)
		return nil, err
	}
	if err := a.admit(ctx, t.network, t.pod); err != nil {
		a.podEvent(ctx, req, err)
		return nil, err
	}
	att, err := a.existingAttachment(ctx, t.network.Namespace, t.network.Name, req.ContainerID, req.IfName)
	if err != nil {
		return nil, err
	}
	mac, err := linkMAC(t.conf, att)
	if err != nil {
		a.podEvent(ctx, req, err)
		return nil, err
	}
	phase("resolve")
	return a.attach(ctx, req, t, att, mac, phase)
}

// attach makes the pod's interface and, unless an earlier ADD did (att),
// its Attachment. The link needs no address, so it is made while the
// Attachment create reserves one: the kernel work overlaps the API round
// trip, and only the addresses are set once both are done. Either half
// failing undoes the other: nothing of a failed ADD stays behind.
func (a *Agent) attach(ctx context.Context, req cnirpc.Request, t *target, att *sbv1.Attachment, mac net.HardwareAddr, phase func(string)) (json.RawMessage, error) {
	link := a.prepareLink(podInterface(req, t.network, mac))
	var err error
	if att == nil {
		if att, err = a.reserve(ctx, req, t, mac); err != nil {
			a.podEvent(ctx, req, err)
		}
	}
	phase("allocate")
	l, lerr := link()
	phase("link_wait")
	switch {
	case err != nil: // no attachment: remove the link
		if lerr == nil {
			err = errors.Join(err, l.Remove())
		}
		return nil, err
	case lerr != nil: // no link: release the attachment
		return nil, a.release(ctx, att, t, lerr)
	}
	pi, err := podInterfaceOf(req, t.network, att)
	var hw net.HardwareAddr
	if err == nil {
		hw, err = l.Finish(pi.MAC, pi.IPs)
	}
	if err == nil && !pi.Bandwidth.IsZero() {
		err = l.Shape(pi.Bandwidth)
	}
	phase("address")
	if err != nil {
		return nil, a.release(ctx, att, t, errors.Join(err, l.Remove()))
	}
	l.Close()
	return cniResult(t.conf.CNIVersion, req, hw, pi.IPs)
}

// prepareLink starts making the pod's link (dataplane.PreparePod) and
// returns a func that waits for it. The func must be called exactly once.
func (a *Agent) prepareLink(p dataplane.PodInterface) func() (*dataplane.PodLink, error) {
	type result struct {
		l   *dataplane.PodLink
		err error
	}
	done := make(chan result, 1)
	go func() {
		start := time.Now()
		l, err := a.dp.PreparePod(p)
		a.metrics.addPhase.WithLabelValues("link").Observe(time.Since(start).Seconds())
		done <- result{l, err}
	}()
	return func() (*dataplane.PodLink, error) {
		r := <-done
		return r.l, r.err
	}
}

// release undoes the reservation of a failed ADD, even when the plugin has
// gone (the runtime then retries ADD, or sends DEL), and returns the ADD's
// error, cause, with the release's if it failed too.
func (a *Agent) release(ctx context.Context, att *sbv1.Attachment, t *target, cause error) error {
	err := fmt.Errorf("attach pod %s/%s to network %s/%s: %w", t.pod.Namespace, t.pod.Name, t.network.Namespace, t.network.Name, cause)
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), releaseTimeout)
	defer cancel()
	if derr := a.client.Delete(ctx, att); derr != nil && !apierrors.IsNotFound(derr) {
		return errors.Join(err, fmt.Errorf("release attachment %s: %w", att.Name, derr))
	}
	a.recent.Deleted(att, time.Now())
	return err
}

// releaseTimeout bounds release once the plugin has gone.
const releaseTimeout = 10 * time.Second

// phaseTimer returns a func that records the time since its last call (or
// since phaseTimer) under the phase it is given.
func (a *Agent) phaseTimer() func(phase string) {
	last := time.Now()
	return func(phase string) {
		now := time.Now()
		a.metrics.addPhase.WithLabelValues(phase).Observe(now.Sub(last).Seconds())
		last = now
	}
}

// podInterface is the pod's interface on network n, without addresses.
func podInterface(req cnirpc.Request, n *sbv1.Network, mac net.HardwareAddr) dataplane.PodInterface {
	return dataplane.PodInterface{
		ContainerID: req.ContainerID, NetNS: req.NetNS, IfName: req.IfName,
		VNI: uint32(n.Status.VNI), MTU: int(n.Spec.MTU), MAC: mac, WANOverhead: wanOverhead(n),
	}
}

// podInterfaceOf is the pod's interface as its Attachment records it.
func podInterfaceOf(req cnirpc.Request, n *sbv1.Network, att *sbv1.Attachment) (dataplane.PodInterface, error) {
	mac, err := attachmentMAC(att)
	if err != nil {
		return dataplane.PodInterface{}, err
	}
	pi := podInterface(req, n, mac)
	var pod *bandwidth.CNI
	if att.Spec.Bandwidth != nil {
		c := att.Spec.Bandwidth.CNI()
		pod = &c
	}
	if pi.Bandwidth, err = podLimits(n, pod); err != nil {
		return pi, badRequest(err.Error())
	}
	for _, s := range att.Spec.IPs {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return pi, fmt.Errorf("attachment %s has address %q: %w", att.Name, s, err)
		}
		pi.IPs = append(pi.IPs, p)
	}
	return pi, nil
}

func attachmentMAC(att *sbv1.Attachment) (net.HardwareAddr, error) {
	mac, err := net.ParseMAC(att.Spec.MAC)
	if err != nil {
		return nil, fmt.Errorf("attachment %s has MAC %q: %w", att.Name, att.Spec.MAC, err)
	}
	return mac, nil
}

func cniResult(version string, req cnirpc.Request, mac net.HardwareAddr, ips []netip.Prefix) (json.RawMessage, error) {
	res := &types100.Result{
		CNIVersion: types100.ImplementedSpecVersion,
		Interfaces: []*types100.Interface{{Name: req.IfName, Mac: mac.String(), Sandbox: req.NetNS}},
	}
	for _, p := range ips {
		res.IPs = append(res.IPs, &types100.IPConfig{
			Interface: types100.Int(0),
			Address:   net.IPNet{IP: p.Addr().AsSlice(), Mask: net.CIDRMask(p.Bits(), p.Addr().BitLen())},
		})
	}
	if version == "" {
		version = types100.ImplementedSpecVersion
	}
	out, err := res.GetAsVersion(version)
	if err != nil {
		return nil, badRequest(fmt.Sprintf("cniVersion %q: %v", version, err))
	}
	return json.Marshal(out)
}
