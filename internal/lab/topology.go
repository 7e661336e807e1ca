package lab

import (
	"fmt"
	"net/netip"
	"regexp"
)

// Limits of the address plan below.
const (
	MaxClusters = 8
	MaxNodes    = 20
)

// WANPrefix is the lab's "WAN": a link that reaches only each cluster's
// gateway node, so that inter-cluster traffic must cross an edge.
var WANPrefix = netip.MustParsePrefix("198.19.0.0/24")

// Topology is the lab's address and naming plan, derived from its Config
// alone: computing it twice gives the same answer.
type Topology struct {
	Name     string
	Clusters []Cluster
	WANNetNS string
}

// Cluster is one Kubernetes cluster of the lab.
type Cluster struct {
	Name        string       // "a", "b", ...
	Index       int          // 0-based
	NetNS       string       // control-plane network namespace
	NodeNet     netip.Prefix // the cluster's node network (underlay)
	APIIP       netip.Addr   // control plane address on the node network
	PodCIDR     netip.Prefix // split into a /23 per node by the controller-manager
	ServiceCIDR netip.Prefix
	Nodes       []Node
}

// Node is one Kubernetes node: its own network and mount namespaces, with
// containerd, kubelet and kube-proxy.
type Node struct {
	Name    string // "a-node1"
	Cluster string
	NetNS   string
	IP      netip.Addr
	Gateway bool       // the cluster's designated gateway: the only node on the WAN
	WANIP   netip.Addr // valid when Gateway
}

// APIServer is the URL of the cluster's kube-apiserver.
func (c Cluster) APIServer() string { return fmt.Sprintf("https://%s:6443", c.APIIP) }

// APIServiceIP is the ClusterIP of the "kubernetes" service.
func (c Cluster) APIServiceIP() netip.Addr { return c.ServiceCIDR.Addr().Next() }

// DNSServiceIP is the ClusterIP of the "kube-dns" service: the tenth
// address of the service range, as kubeadm picks it.
func (c Cluster) DNSServiceIP() netip.Addr {
	a := c.ServiceCIDR.Addr().As4()
	a[3] += 10
	return netip.AddrFrom4(a)
}

var labName = regexp.MustCompile(`^[a-z][a-z0-9]{0,9}$`)

// Plan computes the topology of a lab. It validates the config.
func Plan(name string, clusters, nodes int) (Topology, error) {
	if !labName.MatchString(name) {
		return Topology{}, fmt.Errorf("invalid lab name %q: use 1-10 lower-case letters and digits, starting with a letter", name)
	}
	if clusters < 1 || clusters > MaxClusters {
		return Topology{}, fmt.Errorf("invalid --clusters %d: must be between 1 and %d", clusters, MaxClusters)
	}
	if nodes < 1 || nodes > MaxNodes {
		return Topology{}, fmt.Errorf("invalid --nodes %d: must be between 1 and %d", nodes, MaxNodes)
	}
	t := Topology{Name: name, WANNetNS: name + "-wan"}
	for i := range clusters {
		cn := string(rune('a' + i))
		c := Cluster{
			Name:        cn,
			Index:       i,
			NetNS:       fmt.Sprintf("%s-%s-cp", name, cn),
			NodeNet:     netip.PrefixFrom(netip.AddrFrom4([4]byte{198, 18, byte(i), 0}), 24),
			APIIP:       netip.AddrFrom4([4]byte{198, 18, byte(i), 1}),
			PodCIDR:     netip.PrefixFrom(netip.AddrFrom4([4]byte{10, byte(10 + i), 0, 0}), 16),
			ServiceCIDR: netip.PrefixFrom(netip.AddrFrom4([4]byte{10, byte(96 + i), 0, 0}), 16),
		}
		for j := range nodes {
			n := Node{
				Name:    fmt.Sprintf("%s-node%d", cn, j+1),
				Cluster: cn,
				NetNS:   fmt.Sprintf("%s-%s-node%d", name, cn, j+1),
				IP:      netip.AddrFrom4([4]byte{198, 18, byte(i), byte(10 + j)}),
				Gateway: j == 0,
			}
			if n.Gateway {
				n.WANIP = netip.AddrFrom4([4]byte{198, 19, 0, byte(10 + i)})
			}
			c.Nodes = append(c.Nodes, n)
		}
		t.Clusters = append(t.Clusters, c)
	}
	return t, nil
}

// Cluster returns the named cluster.
func (t Topology) Cluster(name string) (Cluster, error) {
	for _, c := range t.Clusters {
		if c.Name == name {
			return c, nil
		}
	}
	return Cluster{}, fmt.Errorf("no cluster %q in lab %q (clusters: %s)", name, t.Name, t.clusterNames())
}

// Node returns the named node ("a-node1" or "a/node1").
func (t Topology) Node(name string) (Node, error) {
	for _, c := range t.Clusters {
		for _, n := range c.Nodes {
			if n.Name == name || c.Name+"/"+n.Name[len(c.Name)+1:] == name {
				return n, nil
			}
		}
	}
	return Node{}, fmt.Errorf("no node %q in lab %q (nodes are named like a/node1)", name, t.Name)
}

// NetNSes lists every network namespace of the lab.
func (t Topology) NetNSes() []string {
	out := []string{t.WANNetNS}
	for _, c := range t.Clusters {
		out = append(out, c.NetNS)
		for _, n := range c.Nodes {
			out = append(out, n.NetNS)
		}
	}
	return out
}

func (t Topology) clusterNames() string {
	s := ""
	for i, c := range t.Clusters {
		if i > 0 {
			s += ", "
		}
		s += c.Name
	}
	return s
}
