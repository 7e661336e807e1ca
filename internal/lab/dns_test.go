package lab

import (
	"fmt"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"sigs.k8s.io/yaml"
)

// dnsObjects decodes the rendered DNS manifest of cluster b of a lab.
func dnsObjects(t *testing.T) (Cluster, map[string][]byte) {
	t.Helper()
	topo, err := Plan("sblab", 2, 2)
	if err != nil {
		t.Fatal(err)
	}
	c := topo.Clusters[1]
	objs := map[string][]byte{}
	for _, doc := range strings.Split(DNSManifest(c), "\n---\n") {
		var meta struct {
			Kind     string `json:"kind"`
			Metadata struct {
				Name string `json:"name"`
			} `json:"metadata"`
		}
		doc += "\n" // the separator took the last line break
		if err := yaml.Unmarshal([]byte(doc), &meta); err != nil {
			t.Fatalf("manifest document does not parse: %v\n%s", err, doc)
		}
		objs[meta.Kind+"/"+meta.Metadata.Name] = []byte(doc)
	}
	return c, objs
}

func decode[T any](t *testing.T, objs map[string][]byte, key string) T {
	t.Helper()
	var v T
	doc, ok := objs[key]
	if !ok {
		t.Fatalf("manifest has no %s", key)
	}
	if err := yaml.UnmarshalStrict(doc, &v); err != nil {
		t.Fatalf("%s: %v", key, err)
	}
	return v
}

// TestDNSManifestService: kube-dns has the fixed ClusterIP the kubelets
// hand out, inside the cluster's service range, and selects CoreDNS.
func TestDNSManifestService(t *testing.T) {
	c, objs := dnsObjects(t)
	svc := decode[corev1.Service](t, objs, "Service/kube-dns")
	if svc.Namespace != "kube-system" || svc.Spec.ClusterIP != "10.97.0.10" || !c.ServiceCIDR.Contains(c.DNSServiceIP()) {
		t.Errorf("kube-dns: namespace %q ClusterIP %q; want kube-system and 10.97.0.10 inside %s", svc.Namespace, svc.Spec.ClusterIP, c.ServiceCIDR)
	}
	var ports []string
	for _, p := range svc.Spec.Ports {
		ports = append(ports, fmt.Sprintf("%s/%d/%s", p.Name, p.Port, p.Protocol))
	}
	if got, want := strings.Join(ports, " "), "dns/53/UDP dns-tcp/53/TCP metrics/9153/TCP"; got != want {
		t.Errorf("kube-dns ports %q, want %q", got, want)
	}
	dep := decode[appsv1.Deployment](t, objs, "Deployment/coredns")
	if svc.Spec.Selector["k8s-app"] != "kube-dns" || dep.Spec.Template.Labels["k8s-app"] != "kube-dns" {
		t.Errorf("service selector %v does not select the pods labelled %v", svc.Spec.Selector, dep.Spec.Template.Labels)
	}
}

// TestDNSManifestDeployment: CoreDNS runs the lab's local image, resolves
// through the node (not itself), has probes on the health and ready
// plugins' ports, and mounts the Corefile.
func TestDNSManifestDeployment(t *testing.T) {
	_, objs := dnsObjects(t)
	dep := decode[appsv1.Deployment](t, objs, "Deployment/coredns")
	spec := dep.Spec.Template.Spec
	ctr := spec.Containers[0]
	switch {
	case dep.Namespace != "kube-system":
		t.Errorf("namespace %q", dep.Namespace)
	case ctr.Image != CoreDNSImage || ctr.ImagePullPolicy != corev1.PullNever:
		t.Errorf("image %q pull %q; want %q, Never (the lab has no registry)", ctr.Image, ctr.ImagePullPolicy, CoreDNSImage)
	case spec.DNSPolicy != corev1.DNSDefault:
		t.Errorf("dnsPolicy %q; CoreDNS must not resolve through itself", spec.DNSPolicy)
	case spec.ServiceAccountName != "coredns":
		t.Errorf("serviceAccountName %q", spec.ServiceAccountName)
	case ctr.LivenessProbe.HTTPGet.Port.IntValue() != 8080 || ctr.ReadinessProbe.HTTPGet.Port.IntValue() != 8181:
		t.Errorf("probes on %v and %v; want the health plugin's 8080 and the ready plugin's 8181", ctr.LivenessProbe.HTTPGet.Port, ctr.ReadinessProbe.HTTPGet.Port)
	case strings.Join(ctr.Args, " ") != "-conf /etc/coredns/Corefile" || ctr.VolumeMounts[0].MountPath != "/etc/coredns":
		t.Errorf("args %q mounts %v; want the ConfigMap's Corefile", ctr.Args, ctr.VolumeMounts)
	}
}

// TestDNSManifestRBAC: CoreDNS's service account may list and watch what
// the kubernetes plugin reads.
func TestDNSManifestRBAC(t *testing.T) {
	_, objs := dnsObjects(t)
	role := decode[rbacv1.ClusterRole](t, objs, "ClusterRole/system:coredns")
	can := map[string]bool{}
	for _, r := range role.Rules {
		for _, g := range r.APIGroups {
			for _, res := range r.Resources {
				can[g+"/"+res] = strings.Join(r.Verbs, ",") == "list,watch"
			}
		}
	}
	for _, want := range []string{"discovery.k8s.io/endpointslices", "/services", "/namespaces", "/pods"} {
		if !can[want] {
			t.Errorf("ClusterRole system:coredns cannot list and watch %s: %+v", want, role.Rules)
		}
	}
	b := decode[rbacv1.ClusterRoleBinding](t, objs, "ClusterRoleBinding/system:coredns")
	if b.RoleRef.Name != role.Name || b.Subjects[0].Name != "coredns" || b.Subjects[0].Namespace != "kube-system" {
		t.Errorf("binding %+v does not grant the role to kube-system/coredns", b)
	}
}

// TestDNSManifestCorefile: the ConfigMap holds a Corefile serving the
// cluster domain and the reverse zones, metrics on :9153, and a root zone
// with just its SOA and NS (CoreDNS starting on it is checked end to end).
func TestDNSManifestCorefile(t *testing.T) {
	_, objs := dnsObjects(t)
	cm := decode[corev1.ConfigMap](t, objs, "ConfigMap/coredns")
	cf := cm.Data["Corefile"]
	for _, want := range []string{
		"kubernetes cluster.local in-addr.arpa ip6.arpa {", "prometheus :9153", "health {", "ready\n",
		"file /etc/coredns/root.db .", "cache 30",
	} {
		if !strings.Contains(cf, want) {
			t.Errorf("Corefile lacks %q:\n%s", want, cf)
		}
	}
	if strings.Contains(cf, "forward") {
		t.Errorf("Corefile forwards: the lab is offline\n%s", cf)
	}
	zone := cm.Data["root.db"]
	for _, want := range []string{"$ORIGIN .\n", "@ IN SOA ns.dns.cluster.local. hostmaster.cluster.local. ", "@ IN NS ns.dns.cluster.local.\n"} {
		if !strings.Contains(zone, want) {
			t.Errorf("root.db lacks %q:\n%s", want, zone)
		}
	}
}

// TestKubeletConfigClusterDNS: every kubelet hands pods the kube-dns
// ClusterIP and the cluster domain (without them, each pod gets a
// MissingClusterDNS warning and no cluster names).
func TestKubeletConfigClusterDNS(t *testing.T) {
	topo, err := Plan("sblab", 1, 1)
	if err != nil {
		t.Fatal(err)
	}
	l := &lab{topo: topo, dir: t.TempDir()}
	c := topo.Clusters[0]
	cfg := l.kubeletYAML(c, c.Nodes[0])
	var kc struct {
		ClusterDNS    []string `json:"clusterDNS"`
		ClusterDomain string   `json:"clusterDomain"`
	}
	if err := yaml.Unmarshal(cfg, &kc); err != nil {
		t.Fatal(err)
	}
	if len(kc.ClusterDNS) != 1 || kc.ClusterDNS[0] != "10.96.0.10" || kc.ClusterDomain != "cluster.local" {
		t.Errorf("kubelet clusterDNS %v clusterDomain %q; want [10.96.0.10] cluster.local\n%s", kc.ClusterDNS, kc.ClusterDomain, cfg)
	}
}
