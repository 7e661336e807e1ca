package lab

import (
	"fmt"
	"net"
	"os"
	"path/filepath"

	"switchboard/internal/lab/pki"
)

// writeConfigs issues each cluster's certificates and writes its
// kubeconfigs and the nodes' configuration files.
func (l *lab) writeConfigs() error {
	for _, c := range l.topo.Clusters {
		if err := l.writeClusterPKI(c); err != nil {
			return fmt.Errorf("cluster %s: %w", c.Name, err)
		}
		for _, n := range c.Nodes {
			if err := l.writeNodeConfigs(c, n); err != nil {
				return fmt.Errorf("node %s: %w", n.Name, err)
			}
		}
	}
	return nil
}

// writeFiles writes name → content under dir, creating dir.
func writeFiles(dir string, files map[string][]byte) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for name, b := range files {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o600); err != nil {
			return fmt.Errorf("write %s: %w", name, err)
		}
	}
	return nil
}

// kubeconfigUsers are the cluster's client identities: file name → subject.
var kubeconfigUsers = []struct {
	file string
	cn   string
	org  string
}{
	{"admin", "lab-admin", "system:masters"},
	{"controller-manager", "system:kube-controller-manager", ""},
	{"scheduler", "system:kube-scheduler", ""},
	{"kube-proxy", "system:kube-proxy", ""},
	{"multus", "multus", ""},
}

func (l *lab) writeClusterPKI(c Cluster) error {
	ca, err := pki.NewCA("switchboard-lab-" + c.Name)
	if err != nil {
		return err
	}
	caKP, err := ca.KeyPair()
	if err != nil {
		return err
	}
	api, err := ca.Issue(pki.Spec{
		CommonName: "kube-apiserver",
		DNSNames:   []string{"kubernetes", "kubernetes.default", "kubernetes.default.svc", "kubernetes.default.svc.cluster.local", "localhost"},
		IPs:        []net.IP{c.APIIP.AsSlice(), c.APIServiceIP().AsSlice(), net.IPv4(127, 0, 0, 1)},
		Usage:      pki.Server,
	})
	if err != nil {
		return err
	}
	kc, err := ca.Issue(pki.Spec{CommonName: "kube-apiserver-kubelet-client", Organizations: []string{"system:masters"}, Usage: pki.Client})
	if err != nil {
		return err
	}
	saPub, saKey, err := pki.NewServiceAccountKey()
	if err != nil {
		return err
	}
	files := map[string][]byte{
		"ca.crt": caKP.Cert, "ca.key": caKP.Key,
		"apiserver.crt": api.Cert, "apiserver.key": api.Key,
		"kubelet-client.crt": kc.Cert, "kubelet-client.key": kc.Key,
		"sa.pub": saPub, "sa.key": saKey,
	}
	if err := writeFiles(l.clusterPath(c.Name, "pki"), files); err != nil {
		return err
	}
	kcs := map[string][]byte{}
	for _, u := range kubeconfigUsers {
		var orgs []string
		if u.org != "" {
			orgs = []string{u.org}
		}
		kp, err := ca.Issue(pki.Spec{CommonName: u.cn, Organizations: orgs, Usage: pki.Client})
		if err != nil {
			return err
		}
		kcs[u.file+".kubeconfig"] = pki.Kubeconfig(l.topo.Name+"-"+c.Name, c.APIServer(), ca.CertPEM(), kp)
	}
	for _, n := range c.Nodes {
		kp, err := ca.Issue(pki.Spec{CommonName: "system:node:" + n.Name, Organizations: []string{"system:nodes"}, Usage: pki.Client})
		if err != nil {
			return err
		}
		kcs[n.Name+".kubeconfig"] = pki.Kubeconfig(l.topo.Name+"-"+c.Name, c.APIServer(), ca.CertPEM(), kp)
	}
	return writeFiles(l.clusterPath(c.Name), kcs)
}

// Kubeconfig is the path of the cluster's admin kubeconfig.
func (l *lab) kubeconfig(c string) string { return l.clusterPath(c, "admin.kubeconfig") }

// controlPlane returns the cluster's control-plane daemons in two stages:
// etcd and kube-apiserver first; the controller-manager and the scheduler
// once the API server is ready (they exit if its RBAC bootstrap is not done).
func (l *lab) controlPlane(c Cluster) (storage, controllers []daemon) {
	pkiDir := l.clusterPath(c.Name, "pki")
	p := func(f string) string { return filepath.Join(pkiDir, f) }
	etcdURL := "http://127.0.0.1:2379"
	cg := l.topo.Name + "/" + c.Name + "-cp"
	daemons := []daemon{
		{name: c.Name + "-etcd", argv: []string{l.bin.etcd,
			"--name=default", "--data-dir=" + l.clusterPath(c.Name, "etcd"),
			"--listen-client-urls=" + etcdURL, "--advertise-client-urls=" + etcdURL,
			"--listen-peer-urls=http://127.0.0.1:2380", "--initial-advertise-peer-urls=http://127.0.0.1:2380",
			"--initial-cluster=default=http://127.0.0.1:2380",
			"--listen-metrics-urls=http://127.0.0.1:2381",
			"--unsafe-no-fsync", // a throwaway lab: trade durability for speed on small machines
			"--log-level=warn",
		}},
		{name: c.Name + "-kube-apiserver", argv: []string{l.bin.k8s("kube-apiserver"),
			"--etcd-servers=" + etcdURL,
			"--advertise-address=" + c.APIIP.String(), "--bind-address=0.0.0.0", "--secure-port=6443",
			"--service-cluster-ip-range=" + c.ServiceCIDR.String(),
			"--client-ca-file=" + p("ca.crt"),
			"--tls-cert-file=" + p("apiserver.crt"), "--tls-private-key-file=" + p("apiserver.key"),
			"--kubelet-client-certificate=" + p("kubelet-client.crt"), "--kubelet-client-key=" + p("kubelet-client.key"),
			"--kubelet-preferred-address-types=InternalIP,Hostname",
			"--service-account-key-file=" + p("sa.pub"), "--service-account-signing-key-file=" + p("sa.key"),
			"--service-account-issuer=https://kubernetes.default.svc",
			"--authorization-mode=Node,RBAC", "--allow-privileged=true",
			"--enable-priority-and-fairness=false",
			"--profiling=false",
			// Webhooks (the operator's admission webhook) are dialled at
			// their endpoints' pod IPs, which this namespace routes
			// (routePodCIDRs); it has no kube-proxy for ClusterIPs.
			"--enable-aggregator-routing=true",
		}},
		{name: c.Name + "-kube-controller-manager", argv: []string{l.bin.k8s("kube-controller-manager"),
			"--kubeconfig=" + l.clusterPath(c.Name, "controller-manager.kubeconfig"),
			"--authentication-kubeconfig=" + l.clusterPath(c.Name, "controller-manager.kubeconfig"),
			"--authorization-kubeconfig=" + l.clusterPath(c.Name, "controller-manager.kubeconfig"),
			// A /23 per node: room for maxPods (node.go) on the primary network.
			"--allocate-node-cidrs=true", "--cluster-cidr=" + c.PodCIDR.String(), "--node-cidr-mask-size=23",
			"--service-cluster-ip-range=" + c.ServiceCIDR.String(),
			"--cluster-signing-cert-file=" + p("ca.crt"), "--cluster-signing-key-file=" + p("ca.key"),
			"--root-ca-file=" + p("ca.crt"), "--service-account-private-key-file=" + p("sa.key"),
			"--use-service-account-credentials=true", "--leader-elect=false",
			"--bind-address=127.0.0.1", "--profiling=false",
		}},
		{name: c.Name + "-kube-scheduler", argv: []string{l.bin.k8s("kube-scheduler"),
			"--kubeconfig=" + l.clusterPath(c.Name, "scheduler.kubeconfig"),
			"--authentication-kubeconfig=" + l.clusterPath(c.Name, "scheduler.kubeconfig"),
			"--authorization-kubeconfig=" + l.clusterPath(c.Name, "scheduler.kubeconfig"),
			"--leader-elect=false", "--bind-address=127.0.0.1", "--profiling=false",
		}},
	}
	for i := range daemons {
		daemons[i].cgroup, daemons[i].netNS = cg, c.NetNS
	}
	return daemons[:2], daemons[2:]
}

// startAll starts daemons in order and returns them; it does not wait.
func (l *lab) startAll(daemons []daemon) ([]*started, error) {
	var out []*started
	for _, d := range daemons {
		s, err := l.start(d)
		if err != nil {
			return out, err
		}
		out = append(out, s)
	}
	return out, nil
}
