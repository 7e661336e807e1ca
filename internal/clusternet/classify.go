package clusternet

import (
	"net/netip"
	"slices"
	"sort"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"

	"switchboard/internal/firewall/isolation"
)

// classify sorts the cluster's pods into the cluster network and the
// isolated networks. A pod whose annotations cannot be read keeps, on this
// node, the membership of its ADD; elsewhere it is left out (its ADD
// failed).
func classify(node string, nss map[string]*corev1.Namespace, pods []corev1.Pod, local []localPod, log logr.Logger) isolation.Config {
	cfg := isolation.Config{PodInterfaces: PodInterfaces}
	nets := map[string]*isolation.Network{}
	put := func(m Membership, ip netip.Addr) {
		if m.Network == "" {
			cfg.Shared = append(cfg.Shared, ip)
			return
		}
		nw := nets[m.Network]
		if nw == nil {
			nw = &isolation.Network{Name: m.Network}
			nets[m.Network] = nw
		}
		nw.Pods = append(nw.Pods, ip)
		nw.ServicesOpen = nw.ServicesOpen || m.ServicesOpen
	}
	seen := map[string]bool{}
	byName := map[string]*corev1.Pod{}
	for i := range pods {
		byName[pods[i].Namespace+"/"+pods[i].Name] = &pods[i]
	}
	for _, lp := range local {
		m := Membership{Network: lp.network, ServicesOpen: lp.open}
		pod, ns := byName[lp.namespace+"/"+lp.name], nss[lp.namespace]
		if ns != nil {
			if cur, err := MembershipOf(ns, pod); err == nil {
				m = cur
			}
		}
		seen[lp.ip.String()] = true
		cfg.Local = append(cfg.Local, lp.ip)
		put(m, lp.ip)
	}
	for i := range pods {
		p := &pods[i]
		if p.Spec.HostNetwork || p.Spec.NodeName == node || nss[p.Namespace] == nil {
			continue
		}
		m, err := MembershipOf(nss[p.Namespace], p)
		if err != nil {
			log.V(1).Info("pod left out of the isolation sets", "pod", p.Namespace+"/"+p.Name, "error", err.Error())
			continue
		}
		for _, pip := range p.Status.PodIPs {
			ip, err := netip.ParseAddr(pip.IP)
			if err != nil || seen[ip.String()] {
				continue
			}
			seen[ip.String()] = true
			put(m, ip)
		}
	}
	names := make([]string, 0, len(nets))
	for k := range nets {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		nw := nets[k]
		slices.SortFunc(nw.Pods, netip.Addr.Compare)
		cfg.Isolated = append(cfg.Isolated, *nw)
	}
	slices.SortFunc(cfg.Shared, netip.Addr.Compare)
	return cfg
}
