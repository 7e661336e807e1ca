package agent

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"net"
	"net/netip"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	sbv1 "switchboard/api/v1alpha1"
	"switchboard/internal/bandwidth"
	"switchboard/internal/cnirpc"
	"switchboard/internal/ipam"
	"switchboard/internal/podnet"
)

// Allocation is race-free without any shared counter or bitmap: an
// Attachment of a network with IPAM is named after its address, so when two
// agents pick the same address the API server lets only one create it and
// the other moves on to its next candidate. Agents start from different
// candidates (seeded by the container ID), so they seldom collide at all.

// maxCreateAttempts bounds the candidates one ADD tries after conflicts.
const maxCreateAttempts = 64

// attachmentRequest is what an ADD asks for on one network.
type attachmentRequest struct {
	network     *sbv1.Network
	pod         sbv1.PodRef
	containerID string
	ifName      string
	mac         net.HardwareAddr
	staticIPs   []netip.Prefix // from the pod's annotation; empty = allocate
	netNS       string         // the pod's network namespace, as the runtime gave it
	bandwidth   *bandwidth.CNI // the pod's own limits, if it asked for any
}

// linkMAC is the MAC the pod's interface is made with: the existing
// Attachment's (att, from an earlier ADD), else the one the runtime config
// asks for, else a random one. A MAC asked for in the pod's annotation is
// only known once reserve has read it; the Attachment then records it and
// the address step sets it.
func linkMAC(conf *cnirpc.NetConf, att *sbv1.Attachment) (net.HardwareAddr, error) {
	if att != nil {
		return attachmentMAC(att)
	}
	if m := conf.RuntimeConfig.Mac; m != "" && inRuntimeConfig(conf) {
		return parsePodMAC(m)
	}
	return newMAC(), nil
}

// inRuntimeConfig reports whether the runtime passes the pod's static
// addresses and MAC in the config: Multus does so only when the config
// declares the capabilities (see annotationRequest).
func inRuntimeConfig(conf *cnirpc.NetConf) bool {
	return conf.Capabilities["ips"] || conf.Capabilities["mac"]
}

func parsePodMAC(m string) (net.HardwareAddr, error) {
	hw, err := net.ParseMAC(m)
	if err != nil {
		return nil, badRequest(fmt.Sprintf("mac %q in the pod's k8s.v1.cni.cncf.io/networks annotation is not a MAC address (e.g. 02:00:00:00:00:01)", m))
	}
	return hw, nil
}

// reserve creates the pod's Attachment on t's network with the static
// addresses, MAC and bandwidth the pod asks for (in the runtime config, or
// else in its annotation), or else with the next free address and mac.
func (a *Agent) reserve(ctx context.Context, req cnirpc.Request, t *target, mac net.HardwareAddr) (*sbv1.Attachment, error) {
	r := attachmentRequest{network: t.network, pod: t.pod, containerID: req.ContainerID, ifName: req.IfName, mac: mac, netNS: req.NetNS}
	ips := t.conf.RuntimeConfig.IPs
	r.bandwidth = t.conf.RuntimeConfig.Bandwidth
	if !inRuntimeConfig(t.conf) {
		ns, _ := networkRef(t.conf, t.pod.Namespace)
		sel, err := a.annotationRequest(ctx, podKey{t.pod.Namespace, t.pod.Name}, ns, t.conf.Name, req.IfName)
		if err != nil {
			return nil, err
		}
		ips = sel.IPs
		if sel.MAC != "" {
			if r.mac, err = parsePodMAC(sel.MAC); err != nil {
				return nil, err
			}
		}
		if !t.conf.Capabilities["bandwidth"] {
			r.bandwidth = sel.Bandwidth
		}
	}
	if _, err := podLimits(t.network, r.bandwidth); err != nil {
		return nil, badRequest(err.Error())
	}
	var err error
	if r.staticIPs, err = podnet.ParseIPs(ips); err != nil {
		return nil, badRequest(err.Error())
	}
	return a.allocate(ctx, r)
}

// allocate creates the Attachment, reserving its addresses.
func (a *Agent) allocate(ctx context.Context, r attachmentRequest) (*sbv1.Attachment, error) {
	n := r.network
	att := &sbv1.Attachment{
		ObjectMeta: metav1.ObjectMeta{
			Namespace: n.Namespace,
			Labels:    map[string]string{sbv1.LabelNetwork: n.Name, sbv1.LabelNode: a.opts.NodeName},
		},
		Spec: sbv1.AttachmentSpec{
			Network: n.Name, Pod: r.pod, Node: a.opts.NodeName, NodeIP: a.opts.NodeIP.String(),
			ContainerID: r.containerID, Interface: r.ifName, MAC: r.mac.String(),
			NetNS: r.netNS, Bandwidth: (*sbv1.PodBandwidth)(r.bandwidth),
		},
	}
	var pool *ipam.Pool
	if n.Spec.IPAM != nil {
		p, err := ipam.NewPool(*n.Spec.IPAM)
		if err != nil {
			return nil, invalidNetwork(n, err)
		}
		pool = p
	}
	if len(r.staticIPs) > 0 {
		return a.allocateStatic(ctx, att, pool, r.staticIPs)
	}
	if pool == nil { // pure L2: no address, named after the pod's interface
		att.Name = n.Name + "-" + shortHash(r.pod.UID+"/"+r.ifName)
		if err := a.client.Create(ctx, att); err != nil && !apierrors.IsAlreadyExists(err) {
			return nil, fmt.Errorf("create attachment %s/%s: %w", att.Namespace, att.Name, err)
		}
		a.recent.Created(att, time.Now())
		return att, nil
	}
	return a.allocateFromPool(ctx, att, pool, r.containerID)
}

func (a *Agent) allocateStatic(ctx context.Context, att *sbv1.Attachment, pool *ipam.Pool, ips []netip.Prefix) (*sbv1.Attachment, error) {
	n := att.Spec.Network
	for _, p := range ips {
		if pool != nil {
			if err := pool.Check(p.Addr()); err != nil {
				return nil, badRequest(fmt.Sprintf("static address %s from the pod's k8s.v1.cni.cncf.io/networks \"ips\" cannot be used on network %s/%s: %v; pick an address in %s or drop \"ips\"",
					p.Addr(), att.Namespace, n, err, pool.Prefix()))
			}
			if p.Bits() != pool.Prefix().Bits() {
				p = netip.PrefixFrom(p.Addr(), pool.Prefix().Bits())
			}
		}
		att.Spec.IPs = append(att.Spec.IPs, p.String())
	}
	att.Name = ipam.AttachmentName(n, ips[0].Addr())
	err := a.client.Create(ctx, att)
	if apierrors.IsAlreadyExists(err) {
		var holder sbv1.Attachment
		if gerr := a.apiReader.Get(ctx, client.ObjectKeyFromObject(att), &holder); gerr == nil {
			return nil, badRequest(fmt.Sprintf("static address %s on network %s/%s is already used by pod %s/%s: choose another address or remove \"ips\"",
				ips[0].Addr(), att.Namespace, n, holder.Spec.Pod.Namespace, holder.Spec.Pod.Name))
		}
	}
	if err != nil {
		return nil, fmt.Errorf("create attachment %s/%s: %w", att.Namespace, att.Name, err)
	}
	a.recent.Created(att, time.Now())
	return att, nil
}

func (a *Agent) allocateFromPool(ctx context.Context, att *sbv1.Attachment, pool *ipam.Pool, containerID string) (*sbv1.Attachment, error) {
	taken, err := a.takenAddresses(ctx, att.Namespace, att.Spec.Network)
	if err != nil {
		return nil, err
	}
	tries := 0
	for addr := range pool.Candidates(seed(containerID)) {
		if taken[addr] {
			continue
		}
		c := att.DeepCopy()
		c.Name = ipam.AttachmentName(att.Spec.Network, addr)
		c.Spec.IPs = []string{netip.PrefixFrom(addr, pool.Prefix().Bits()).String()}
		err := a.client.Create(ctx, c)
		if err == nil {
			a.metrics.allocConflicts.Add(float64(tries))
			a.recent.Created(c, time.Now())
			return c, nil
		}
		if !apierrors.IsAlreadyExists(err) {
			return nil, fmt.Errorf("create attachment %s/%s: %w", c.Namespace, c.Name, err)
		}
		if tries++; tries >= maxCreateAttempts {
			return nil, fmt.Errorf("allocate on network %s/%s: %d candidate addresses were taken concurrently; try again", att.Namespace, att.Spec.Network, tries)
		}
	}
	return nil, badRequest(fmt.Sprintf("network %s/%s has no free address in %s: widen spec.ipam.cidr or spec.ipam.ranges, or remove pods",
		att.Namespace, att.Spec.Network, pool.Prefix()))
}

// takenAddresses reads the addresses in use from the cache: a stale cache
// only costs a conflict and a retry, never a duplicate. The list is only
// read, so it shares the cache's objects instead of copying every
// attachment of the network on every ADD.
func (a *Agent) takenAddresses(ctx context.Context, namespace, network string) (map[netip.Addr]bool, error) {
	var list sbv1.AttachmentList
	if err := a.cache.List(ctx, &list, client.InNamespace(namespace), client.MatchingLabels{sbv1.LabelNetwork: network}, client.UnsafeDisableDeepCopy); err != nil {
		return nil, fmt.Errorf("list attachments of network %s/%s: %w", namespace, network, err)
	}
	taken := make(map[netip.Addr]bool, len(list.Items))
	for _, it := range list.Items {
		for _, s := range it.Spec.IPs {
			if p, err := netip.ParsePrefix(s); err == nil {
				taken[p.Addr()] = true
			}
		}
	}
	return taken, nil
}

func seed(containerID string) uint64 {
	h := sha256.Sum256([]byte(containerID))
	return binary.BigEndian.Uint64(h[:8])
}

func shortHash(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:6])
}

// newMAC returns a random locally administered unicast MAC.
func newMAC() net.HardwareAddr {
	m := make(net.HardwareAddr, 6)
	_, _ = rand.Read(m)
	m[0] = (m[0] | 0x02) &^ 0x01
	return m
}
