package lab

import (
	"fmt"
	"net/netip"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
)

// The lab's fabric (`lab up --frr`): per cluster, a real router, FRR
// (Debian's zebra and bgpd), in its own namespace on the cluster's node
// network, as seed 002's top-of-rack; and behind it a "client" namespace
// that stands for the outside world. The router accepts BGP from the
// cluster's nodes (a listen range: the nodes dial it) and routes between
// the client and whatever the nodes announce; each node routes the
// client's network back through the router.
//
//	client 198.19.(100+i).10 ── 198.19.(100+i).1 FRR 198.18.i.2 ── br0 (node network) ── nodes
//
// Switchboard's agents run with --bgp in such a lab; what they announce is
// up to the BGPPeers and BGPAdvertisements (docs/bgp.md).

// Fabric ASNs: the router's, and the one the nodes use towards it.
const (
	FRRASN  = 64600
	NodeASN = 64700
)

// FRRDaemons is where Debian's frr package puts zebra and bgpd.
const FRRDaemons = "/usr/lib/frr"

// Fabric is one cluster's router and client.
type Fabric struct {
	RouterNetNS string
	RouterIP    netip.Addr // on the node network: the BGPPeer's address
	ClientNetNS string
	ClientNet   netip.Prefix
	ClientIP    netip.Addr
	VtyDir      string // vtysh --vty_socket VtyDir reaches the router
}

// Fabric returns cluster c's router and client in a lab kept in dir.
func (t Topology) Fabric(dir string, c Cluster) Fabric {
	ip := c.NodeNet.Addr().As4()
	ip[3] = 2
	client := netip.PrefixFrom(netip.AddrFrom4([4]byte{198, 19, byte(100 + c.Index), 0}), 24)
	return Fabric{
		RouterNetNS: fmt.Sprintf("%s-%s-frr", t.Name, c.Name),
		RouterIP:    netip.AddrFrom4(ip),
		ClientNetNS: fmt.Sprintf("%s-%s-client", t.Name, c.Name),
		ClientNet:   client,
		ClientIP:    netip.AddrFrom4([4]byte{198, 19, byte(100 + c.Index), 10}),
		VtyDir:      filepath.Join(dir, c.Name, "frr"),
	}
}

func (f Fabric) clientGateway() netip.Addr { return f.ClientNet.Addr().Next() }

// makeFabric adds cluster c's router and client namespaces, links and
// routes (the namespaces are recorded, so Down removes them).
func (l *lab) makeFabric(c Cluster) error {
	f := l.topo.Fabric(l.dir, c)
	for _, ns := range []string{f.RouterNetNS, f.ClientNetNS} {
		if err := l.addNetNS(ns); err != nil {
			return err
		}
	}
	tor := link{netNS: f.RouterNetNS, name: "eth0", addr: netip.PrefixFrom(f.RouterIP, c.NodeNet.Bits())}
	if err := addVeth(tor, link{netNS: c.NetNS, name: "frr", master: "br0"}); err != nil {
		return err
	}
	down := link{netNS: f.RouterNetNS, name: "client0", addr: netip.PrefixFrom(f.clientGateway(), f.ClientNet.Bits())}
	if err := addVeth(down, link{netNS: f.ClientNetNS, name: "eth0", addr: netip.PrefixFrom(f.ClientIP, f.ClientNet.Bits())}); err != nil {
		return err
	}
	if err := addRoute(f.ClientNetNS, netip.Prefix{}, f.clientGateway()); err != nil {
		return err
	}
	if err := setSysctl(f.RouterNetNS, "net/ipv4/ip_forward", "1"); err != nil {
		return err
	}
	for _, n := range c.Nodes {
		if err := addRoute(n.NetNS, f.ClientNet, f.RouterIP); err != nil {
			return err
		}
	}
	return nil
}

// upFabric makes and starts every cluster's router and client.
func (l *lab) upFabric() error {
	for _, c := range l.topo.Clusters {
		if err := l.makeFabric(c); err != nil {
			return err
		}
		if err := l.startFabric(c); err != nil {
			return err
		}
	}
	return nil
}

// startFabric starts cluster c's FRR (zebra, then bgpd) in the foreground
// as lab daemons, running as the frr user as Debian runs them.
func (l *lab) startFabric(c Cluster) error {
	if _, err := os.Stat(filepath.Join(FRRDaemons, "bgpd")); err != nil {
		return fmt.Errorf("--frr needs FRR's daemons in %s: apt-get install frr: %w", FRRDaemons, err)
	}
	f := l.topo.Fabric(l.dir, c)
	if err := os.MkdirAll(f.VtyDir, 0o755); err != nil {
		return err
	}
	u, err := user.Lookup("frr")
	if err != nil {
		return fmt.Errorf("--frr needs the frr user of Debian's frr package: %w", err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	if err := os.Chown(f.VtyDir, uid, gid); err != nil {
		return err
	}
	confs := map[string]string{"zebra": "hostname " + f.RouterNetNS + "\n", "bgpd": frrConfig(c, f)}
	for _, d := range []string{"zebra", "bgpd"} {
		conf := filepath.Join(f.VtyDir, d+".conf")
		if err := os.WriteFile(conf, []byte(confs[d]), 0o644); err != nil {
			return err
		}
		_, err := l.start(daemon{
			name:   c.Name + "-frr-" + d,
			cgroup: l.topo.Name,
			netNS:  f.RouterNetNS,
			argv: []string{filepath.Join(FRRDaemons, d), "-u", "frr", "-g", "frr",
				"--vty_socket", f.VtyDir, "-z", filepath.Join(f.VtyDir, "zserv.api"),
				"-i", filepath.Join(f.VtyDir, d+".pid"), "-f", conf, "-P", "0", "--log", "stdout"},
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// frrConfig is the router's bgpd configuration: any node of the cluster
// may open a session (the nodes dial; their speakers never listen), and
// what they announce is routed with ECMP over the nodes that announce it.
func frrConfig(c Cluster, f Fabric) string {
	return fmt.Sprintf(`frr defaults datacenter
hostname %s
router bgp %d
 bgp router-id %s
 no bgp ebgp-requires-policy
 bgp bestpath as-path multipath-relax
 neighbor nodes peer-group
 neighbor nodes remote-as %d
 bgp listen range %s peer-group nodes
 address-family ipv4 unicast
  maximum-paths 8
 exit-address-family
`, f.RouterNetNS, FRRASN, f.RouterIP, NodeASN, c.NodeNet)
}
