package topology

// Topology is a network as the clusters read by Build see it. The caller
// owns it; the renderers only read it.
type Topology struct {
	// Network is the network's name, the same in every cluster.
	Network  string    `json:"network"`
	Clusters []Cluster `json:"clusters"`
	// Tunnels join gateways of different clusters, in cluster order.
	Tunnels []Tunnel `json:"tunnels"`
}

// Cluster is one cluster's part of the network.
type Cluster struct {
	// Context is the kubeconfig context the cluster was read through.
	Context   string `json:"context"`
	Namespace string `json:"namespace"`
	// Error says why the network could not be read in this cluster; then
	// only Context and Namespace are set.
	Error string `json:"error,omitempty"`
	Type  string `json:"type,omitempty"`
	// Ready is the network's Ready condition (True, False, Unknown), ""
	// while the operator has not reported on its latest generation.
	Ready           string `json:"ready,omitempty"`
	Reason          string `json:"reason,omitempty"`
	VNI             int32  `json:"vni,omitempty"`
	InterClusterVNI int32  `json:"interClusterVNI,omitempty"`
	// Nodes are the cluster's nodes, sorted by name, each with what it
	// holds of the network (possibly nothing).
	Nodes []Node `json:"nodes"`
	// Problems are parts that could not be read (the rest is shown) and
	// notes on what is missing, e.g. an ext-vnet network without gateway.
	Problems []string `json:"problems,omitempty"`
}

// Node is a node and its share of the network.
type Node struct {
	Name string `json:"name"`
	// IP is the node's internal address.
	IP string `json:"ip,omitempty"`
	// Gateway is set when the node is the network's gateway (the edge
	// device carries the network to the other clusters from here).
	Gateway *Gateway `json:"gateway,omitempty"`
	// Pods are sorted by namespace/name, then interface.
	Pods []Pod `json:"pods"`
}

// Gateway is an edge device's cable into the network on a node.
type Gateway struct {
	// Pod is the edge's own pod, namespace/name.
	Pod string `json:"pod"`
	// Cable is the interface that joins the edge to the network's bridge.
	Cable string `json:"cable"`
	// Encryption is how the edge carries the network on the WAN:
	// "WireGuard" or "plain VXLAN".
	Encryption string `json:"encryption"`
	// Ready is the edge pod's Ready condition.
	Ready bool `json:"ready"`
	// Detail says why the gateway is not ready; empty when it is.
	Detail string `json:"detail,omitempty"`
}

// Pod is a pod interface on the network, or a pod the operator refused.
type Pod struct {
	// Name is namespace/name.
	Name      string   `json:"name"`
	Interface string   `json:"interface,omitempty"`
	IPs       []string `json:"ips,omitempty"`
	MAC       string   `json:"mac,omitempty"`
	// User is the user the pod joined an ext-vnet network as.
	User string `json:"user,omitempty"`
	// Refused is the reason the operator refused the pod; then the pod has
	// no interface on the network.
	Refused string `json:"refused,omitempty"`
}

// Endpoint is a gateway: a node of a cluster.
type Endpoint struct {
	Context string `json:"context"`
	Node    string `json:"node"`
}

// Tunnel is the link between two gateways of different clusters.
type Tunnel struct {
	A, B Endpoint
	// ID is the link's inter-cluster VNI; 0 when the two ends disagree or
	// do not know it.
	ID int32 `json:"id,omitempty"`
	// State is StateUp or StateDown.
	State string `json:"state"`
	// Encryption is "WireGuard" when both edges carry it inside
	// WireGuard, else "plain VXLAN".
	Encryption string `json:"encryption"`
	// Detail says why the tunnel is down; empty when up.
	Detail string `json:"detail,omitempty"`
}

// Tunnel states.
const (
	StateUp   = "up"
	StateDown = "down"
)

// Encryptions on the WAN.
const (
	WireGuard  = "WireGuard"
	PlainVXLAN = "plain VXLAN"
)
