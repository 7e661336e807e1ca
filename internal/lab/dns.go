package lab

import (
	"context"
	"fmt"
	"strings"

	"switchboard/internal/lab/toolchain"
)

// The lab's cluster DNS: every cluster runs CoreDNS as the kube-dns
// Service in kube-system, as kubeadm and most distributions do, and the
// kubelets point pods at it (clusterDNS, clusterDomain in kubelet.yaml).
const (
	// ClusterDomain is the DNS domain of every lab cluster.
	ClusterDomain = "cluster.local"
	// CoreDNSImage is the image of the lab's CoreDNS, assembled from the
	// binary the toolchain builds.
	CoreDNSImage = "switchboard.local/lab/coredns:" + toolchain.CoreDNSVersion
)

// corefile serves the cluster's names from the API (kubernetes plugin) and
// answers every other name from an empty root zone: the lab is offline,
// so a name outside the cluster does not exist (NXDOMAIN at once, rather
// than a forward to an upstream that cannot answer). Reverse names the
// cluster does not know get NXDOMAIN from the kubernetes plugin itself.
const corefile = `.:53 {
    errors
    health {
        lameduck 5s
    }
    ready
    kubernetes %[1]s in-addr.arpa ip6.arpa {
        pods insecure
        ttl 30
    }
    prometheus :9153
    file /etc/coredns/root.db .
    cache 30
    loop
    reload
    loadbalance
}
`

// rootZone is the empty root zone that the file plugin serves.
const rootZone = `$ORIGIN .
$TTL 30
@ IN SOA ns.dns.%[1]s. hostmaster.%[1]s. 1 7200 1800 86400 30
@ IN NS ns.dns.%[1]s.
`

// dnsManifest is the cluster DNS of cluster c: its configuration, its
// permissions, the CoreDNS Deployment and the kube-dns Service at the
// fixed ClusterIP that the kubelets hand to pods.
const dnsManifest = `apiVersion: v1
kind: ServiceAccount
metadata: {name: coredns, namespace: kube-system}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata:
  name: system:coredns
  labels: {kubernetes.io/bootstrapping: rbac-defaults}
rules:
- apiGroups: [""]
  resources: [endpoints, services, pods, namespaces]
  verbs: [list, watch]
- apiGroups: [discovery.k8s.io]
  resources: [endpointslices]
  verbs: [list, watch]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata:
  name: system:coredns
  labels: {kubernetes.io/bootstrapping: rbac-defaults}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: "system:coredns"}
subjects:
- {kind: ServiceAccount, name: coredns, namespace: kube-system}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: coredns, namespace: kube-system}
data:
  Corefile: |
%[1]s  root.db: |
%[2]s---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: coredns
  namespace: kube-system
  labels: {k8s-app: kube-dns}
spec:
  replicas: 2
  strategy: {type: RollingUpdate, rollingUpdate: {maxUnavailable: 1}}
  selector:
    matchLabels: {k8s-app: kube-dns}
  template:
    metadata:
      labels: {k8s-app: kube-dns}
    spec:
      priorityClassName: system-cluster-critical
      serviceAccountName: coredns
      # CoreDNS must not resolve through itself.
      dnsPolicy: Default
      tolerations:
      - {key: CriticalAddonsOnly, operator: Exists}
      affinity:
        podAntiAffinity:
          preferredDuringSchedulingIgnoredDuringExecution:
          - weight: 100
            podAffinityTerm:
              labelSelector:
                matchLabels: {k8s-app: kube-dns}
              topologyKey: kubernetes.io/hostname
      containers:
      - name: coredns
        image: %[3]s
        imagePullPolicy: Never
        args: [-conf, /etc/coredns/Corefile]
        resources:
          requests: {cpu: 50m, memory: 70Mi}
          limits: {memory: 170Mi}
        ports:
        - {name: dns, containerPort: 53, protocol: UDP}
        - {name: dns-tcp, containerPort: 53, protocol: TCP}
        - {name: metrics, containerPort: 9153, protocol: TCP}
        securityContext:
          allowPrivilegeEscalation: false
          readOnlyRootFilesystem: true
          capabilities: {add: [NET_BIND_SERVICE], drop: [ALL]}
        livenessProbe:
          httpGet: {path: /health, port: 8080}
          initialDelaySeconds: 60
          timeoutSeconds: 5
          failureThreshold: 5
        readinessProbe:
          httpGet: {path: /ready, port: 8181}
          periodSeconds: 2
        volumeMounts:
        - {name: config, mountPath: /etc/coredns, readOnly: true}
      volumes:
      - name: config
        configMap: {name: coredns}
---
apiVersion: v1
kind: Service
metadata:
  name: kube-dns
  namespace: kube-system
  labels: {k8s-app: kube-dns, kubernetes.io/name: CoreDNS}
  annotations: {prometheus.io/port: "9153", prometheus.io/scrape: "true"}
spec:
  selector: {k8s-app: kube-dns}
  clusterIP: %[4]s
  ports:
  - {name: dns, port: 53, protocol: UDP}
  - {name: dns-tcp, port: 53, protocol: TCP}
  - {name: metrics, port: 9153, protocol: TCP}
`

// DNSManifest renders the cluster DNS objects of cluster c.
func DNSManifest(c Cluster) string {
	return fmt.Sprintf(dnsManifest,
		indent(fmt.Sprintf(corefile, ClusterDomain), "    "),
		indent(fmt.Sprintf(rootZone, ClusterDomain), "    "),
		CoreDNSImage, c.DNSServiceIP())
}

// indent prefixes every line of s with prefix.
func indent(s, prefix string) string {
	lines := strings.SplitAfter(s, "\n")
	var b strings.Builder
	for _, l := range lines {
		if l != "" {
			b.WriteString(prefix + l)
		}
	}
	return b.String()
}

// waitDNS waits until CoreDNS of cluster c is rolled out and ready.
func (l *lab) waitDNS(ctx context.Context, c Cluster) error {
	_, err := l.kubectl(ctx, c.Name, "rollout", "status", "-n", "kube-system", "deployment/coredns", "--timeout=120s")
	if err != nil {
		logs, _ := l.kubectl(ctx, c.Name, "logs", "-n", "kube-system", "deployment/coredns", "--tail=20")
		return fmt.Errorf("cluster DNS of cluster %s not ready: %w\nlast log lines of CoreDNS:\n%s", c.Name, err, logs)
	}
	return nil
}
