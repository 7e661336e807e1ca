//go:build e2e

package e2e

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"switchboard/internal/lab/kube"
)

// dnsServices are a ClusterIP and a headless Service over the testbox pods.
const dnsServices = `apiVersion: v1
kind: Service
metadata: {name: web, namespace: dns}
spec:
  selector: {app: testbox}
  ports: [{name: http, port: 80, targetPort: 8080}]
---
apiVersion: v1
kind: Service
metadata: {name: web-headless, namespace: dns}
spec:
  clusterIP: None
  selector: {app: testbox}
  ports: [{name: http, port: 8080}]
`

// TestClusterDNS: in every cluster, pods resolve the cluster's names
// through CoreDNS (kube-system/kube-dns) as on any cluster: the API
// server's Service, a Service by its full name and by its short name
// (search path), a headless Service to its pods' IPs, NXDOMAIN for a
// name that does not exist; and the kubelets no longer warn that the
// cluster has no DNS.
func TestClusterDNS(t *testing.T) {
	for _, c := range handle.Clusters {
		t.Run("cluster-"+c.Name, func(t *testing.T) {
			t.Parallel()
			ctx := testContext(t, 4*time.Minute)
			k := cluster(t, c.Name)
			manifest := kube.TestboxPods("dns", c.Nodes[:2], "") + "---\n" + dnsServices
			t.Cleanup(func() { _ = k.Delete(testContext(t, time.Minute), manifest) })
			if err := k.Apply(ctx, manifest); err != nil {
				t.Fatal(err)
			}
			if err := k.WaitPodsReady(ctx, "dns", "app=testbox", 2*time.Minute); err != nil {
				t.Fatal(err)
			}
			conf, err := k.Exec(ctx, "dns", "pod1", "cat", "/etc/resolv.conf")
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(conf, "nameserver "+c.DNSServiceIP().String()+"\n") ||
				!strings.Contains(conf, "search dns.svc.cluster.local svc.cluster.local cluster.local") {
				t.Fatalf("pod resolv.conf does not use the cluster DNS %s and the cluster search path:\n%s", c.DNSServiceIP(), conf)
			}
			webIP, err := k.Kubectl(ctx, "", "get", "service", "-n", "dns", "web", "-o", "jsonpath={.spec.clusterIP}")
			if err != nil {
				t.Fatal(err)
			}
			var podIPs []string
			for _, pod := range []string{"pod1", "pod2"} {
				ip, err := k.PodIP(ctx, "dns", pod)
				if err != nil {
					t.Fatal(err)
				}
				podIPs = append(podIPs, ip)
			}
			slices.Sort(podIPs)
			for name, want := range map[string]string{
				"kubernetes.default.svc.cluster.local": c.APIServiceIP().String(),
				"web.dns.svc.cluster.local":            webIP,
				"web":                                  webIP, // the search path of namespace dns
				"web-headless.dns.svc.cluster.local":   strings.Join(podIPs, " "),
			} {
				waitResolves(t, ctx, k, name, want)
			}
			out, err := k.Exec(ctx, "dns", "pod2", "netcheck", "resolve", "nosuch.dns.svc.cluster.local")
			if err == nil || !strings.Contains(out, "NXDOMAIN") {
				t.Errorf("nosuch.dns.svc.cluster.local: %v, output %q; want NXDOMAIN", err, out)
			}
			// Names outside the cluster do not exist in the offline lab: NXDOMAIN at once, not a timeout.
			out, err = k.Exec(ctx, "dns", "pod2", "netcheck", "resolve", "example.com.")
			if err == nil || !strings.Contains(out, "NXDOMAIN") {
				t.Errorf("example.com.: %v, output %q; want NXDOMAIN", err, out)
			}
			events, err := k.Kubectl(ctx, "", "get", "events", "-A", "--field-selector", "reason=MissingClusterDNS",
				"-o", `jsonpath={range .items[*]}{.involvedObject.namespace}/{.involvedObject.name}: {.message}{"\n"}{end}`)
			if err != nil {
				t.Fatal(err)
			}
			if strings.TrimSpace(events) != "" {
				t.Errorf("kubelets still warn MissingClusterDNS:\n%s", events)
			}
		})
	}
}

// waitResolves waits until name, looked up in pod dns/pod1, gives exactly
// the addresses want (space-separated, sorted). CoreDNS learns of new
// Services and endpoints from a watch, so the first answers may lag.
func waitResolves(t *testing.T, ctx context.Context, k *kube.Cluster, name, want string) {
	t.Helper()
	var got string
	for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline); time.Sleep(time.Second) {
		out, err := k.Exec(ctx, "dns", "pod1", "netcheck", "resolve", name)
		got = strings.Join(strings.Fields(out), " ")
		if err != nil {
			got = err.Error()
		}
		if got == want {
			return
		}
	}
	t.Fatalf("resolve %s in a pod of cluster %s: got %q, want %q", name, k.Name, got, want)
}
