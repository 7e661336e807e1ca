// Package isolation is namespace isolation on the primary network (seed
// 001): the nftables rules with which the node agent keeps pods of
// different pod networks apart, in the table "inet switchboard" that the
// agent owns on every node (package firewall replaces it whole; package
// underlay makes the rest of it).
//
// # Model
//
// Pods of non-isolated namespaces share the cluster network (Shared). Each
// isolated namespace, and each custom Network named by a pod or namespace
// annotation, is a network of its own (Isolated). A pod of an isolated
// network reaches the pods of its own network, and the Services of the
// cluster network; a Service of an isolated network is reachable from
// other networks only when its ServicesOpen (service isolation off).
//
// # Where it is enforced
//
// On the node of the sending pod, in forward, for packets that come in on
// a pod's primary interface (PodInterfaces): there the connection is new,
// and a packet to a Service has just been sent on to an endpoint by
// kube-proxy's DNAT (ct status dnat), so that "to a Service" and "to a pod"
// can be told apart. Replies pass as established. The receiving node does
// not check again: it cannot tell a Service's traffic, which the sender's
// node translated, from direct traffic.
//
// # The rules
//
//	sets: local4 (this node's pods), shared4 (the cluster network's pods), isolated4 (every isolated
//	network's pods), open4 (pods of isolated networks whose Services are
//	open), net<i>4 (the pods of isolated network i)
//
//	chain isolation (forward, filter - 5), every rule for packets from a pod interface:
//	  IPv4 source not in @local4 (forged: e.g. to pass as a shared pod): drop
//	  ct state established,related: accept
//	  per isolated network i, from its pods (ip saddr @net<i>4):
//	    to its own pods: accept
//	    to a Service of the cluster network (ct status dnat, ip daddr @shared4): accept
//	    to an open Service of another network (ct status dnat, ip daddr @open4): accept
//	    to any other pod (@shared4, @isolated4): drop
//	  from the cluster network's pods (ip saddr @shared4):
//	    to an open Service (ct status dnat, ip daddr @open4): accept
//	    to a pod of an isolated network (@isolated4): drop
//
// Traffic from and to addresses that are no known pod (the nodes, the
// API server) is not touched. IPv4 only for now.
package isolation

import (
	"fmt"
	"net/netip"
	"slices"

	"switchboard/internal/firewall"
)

// Names of the sets that are always there.
const (
	Shared4   = "shared4"
	Isolated4 = "isolated4"
	Open4     = "open4"
	Local4    = "local4"
)

// ChainName is the chain that holds the rules; its priority runs it after
// underlay admission's forward chain (filter - 10).
const (
	ChainName = "isolation"
	priority  = firewall.PriorityFilter - 5
)

// Network is an isolated pod network: an isolated namespace or a custom
// Network.
type Network struct {
	Name         string       // for the rules' comments, e.g. "namespace ns-a" or "network ns/blue"
	Pods         []netip.Addr // its pods' addresses, on every node
	ServicesOpen bool         // its Services are reachable from other networks
}

// Config is what the rules are made from.
type Config struct {
	// PodInterfaces is the iifname pattern of the node's pod primary
	// interfaces' host ends, e.g. "sbp*".
	PodInterfaces string
	// Local are this node's pods' addresses: what a packet from a pod
	// interface may have as its source.
	Local    []netip.Addr
	Shared   []netip.Addr // the cluster network's pods
	Isolated []Network    // in a stable order: the sets are numbered by it
}

// Spec returns the sets and the chain for c, to be merged into the node's
// table. It reports an invalid pattern or address.
func Spec(c Config) (firewall.Spec, error) {
	if c.PodInterfaces == "" {
		return firewall.Spec{}, fmt.Errorf("isolation rules need the pod interfaces' pattern (e.g. sbp*)")
	}
	shared, err := hosts(c.Shared)
	if err != nil {
		return firewall.Spec{}, fmt.Errorf("cluster network: %w", err)
	}
	local, err := hosts(c.Local)
	if err != nil {
		return firewall.Spec{}, fmt.Errorf("this node's pods: %w", err)
	}
	fromPod := firewall.IifName(c.PodInterfaces)
	rule := func(v firewall.Verdict, comment string, m ...firewall.Match) firewall.Rule {
		return firewall.Rule{Match: append([]firewall.Match{fromPod}, m...), Counter: v == firewall.Drop, Verdict: v, Comment: comment}
	}
	var all, open []netip.Prefix
	sets := []firewall.Set{}
	rules := []firewall.Rule{
		rule(firewall.Drop, "source is not a pod of this node: forged", firewall.SAddrNotIn(firewall.IPv4, Local4)),
		rule(firewall.Accept, "replies and related", firewall.CtStateEstablished()),
	}
	for i, n := range c.Isolated {
		pods, err := hosts(n.Pods)
		if err != nil {
			return firewall.Spec{}, fmt.Errorf("%s: %w", n.Name, err)
		}
		all = append(all, pods...)
		if n.ServicesOpen {
			open = append(open, pods...)
		}
		set := fmt.Sprintf("net%d4", i)
		sets = append(sets, firewall.Set{Name: set, Type: firewall.IPv4, Elements: pods})
		from := firewall.SAddrIn(firewall.IPv4, set)
		rules = append(rules,
			rule(firewall.Accept, n.Name+": its own pods", from, firewall.DAddrIn(firewall.IPv4, set)),
			rule(firewall.Accept, n.Name+": a Service of the cluster network", from, firewall.CtStatusDNAT(), firewall.DAddrIn(firewall.IPv4, Shared4)),
			rule(firewall.Accept, n.Name+": an open Service", from, firewall.CtStatusDNAT(), firewall.DAddrIn(firewall.IPv4, Open4)),
			rule(firewall.Drop, n.Name+" is isolated: not the cluster network's pods", from, firewall.DAddrIn(firewall.IPv4, Shared4)),
			rule(firewall.Drop, n.Name+" is isolated: not another network's pods", from, firewall.DAddrIn(firewall.IPv4, Isolated4)),
		)
	}
	fromShared := firewall.SAddrIn(firewall.IPv4, Shared4)
	rules = append(rules,
		rule(firewall.Accept, "cluster network: an open Service", fromShared, firewall.CtStatusDNAT(), firewall.DAddrIn(firewall.IPv4, Open4)),
		rule(firewall.Drop, "cluster network: not an isolated network's pods", fromShared, firewall.DAddrIn(firewall.IPv4, Isolated4)),
	)
	spec := firewall.Spec{
		Sets: slices.Concat([]firewall.Set{
			{Name: Local4, Type: firewall.IPv4, Elements: local},
			{Name: Shared4, Type: firewall.IPv4, Elements: shared},
			{Name: Isolated4, Type: firewall.IPv4, Elements: all},
			{Name: Open4, Type: firewall.IPv4, Elements: open},
		}, sets),
		Chains: []firewall.Chain{{Name: ChainName, Hook: firewall.Forward, Priority: priority, Rules: rules}},
	}
	if err := spec.Validate(); err != nil {
		return firewall.Spec{}, err
	}
	return spec, nil
}

// hosts returns the IPv4 addresses as host prefixes; IPv6 ones are left
// out (not enforced yet).
func hosts(addrs []netip.Addr) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, a := range addrs {
		a = a.Unmap()
		if !a.IsValid() {
			return nil, fmt.Errorf("pod address %v: not an IP address", a)
		}
		if a.Is4() {
			out = append(out, netip.PrefixFrom(a, 32))
		}
	}
	return out, nil
}
