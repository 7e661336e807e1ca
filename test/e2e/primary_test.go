//go:build e2e

package e2e

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"switchboard/internal/lab"
	"switchboard/internal/lab/kube"
)

// needPrimary skips unless the lab runs Switchboard as its primary network.
func needPrimary(t *testing.T) {
	t.Helper()
	if *primary != lab.PrimarySwitchboard {
		t.Skip("needs a lab with Switchboard as the primary network: -args -primary=switchboard")
	}
}

// primaryPod is a testbox pod name in ns on node with annotations (a YAML
// flow-map body) and label app=name.
func primaryPod(ns, name, node, annotations string) string {
	return kube.TestboxPod(ns, name, name, node, annotations)
}

func primaryNamespace(name, annotations string) string {
	return fmt.Sprintf("---\napiVersion: v1\nkind: Namespace\nmetadata:\n  name: %s\n  annotations: {%s}\n", name, annotations)
}

func primaryService(ns, app string) string {
	return fmt.Sprintf("---\napiVersion: v1\nkind: Service\nmetadata: {name: %s, namespace: %s}\nspec:\n  selector: {app: %s}\n  ports: [{port: 80, targetPort: 8080}]\n", app, ns, app)
}

// peer is a pod of the matrix: its namespace, name, address.
type peer struct{ ns, name, ip string }

func (p peer) String() string { return p.ns + "/" + p.name }

// TestPrimaryIsolation is seed 001's verification on a lab whose primary
// network is Switchboard: busybox-like testbox pods in default, a
// non-isolated and an isolated namespace, pinged across nodes; service
// isolation on and off; custom networks by namespace and by pod annotation.
// Every probe that must fail is paired with positive controls: the same
// source reaches an allowed target, and the same target is reached from an
// allowed source, so a failure means the rules, not a broken pod.
func TestPrimaryIsolation(t *testing.T) {
	needPrimary(t)
	ctx := testContext(t, 8*time.Minute)
	c := handle.Clusters[0]
	k := cluster(t, c.Name)
	n1, n2 := c.Nodes[0].Name, c.Nodes[1].Name
	blue := "---\n" + network("pm-custom", "blue", "{cidr: 10.201.0.0/24}", "")
	manifest := strings.Join([]string{
		primaryNamespace("pm-shared", ""),
		primaryNamespace("pm-iso", `switchboard.dev/isolation: "true"`),
		// The seed's spellings: isolated, with service isolation off.
		primaryNamespace("pm-open", `opencontrail.org/isolation: "true", opencontrail.org/isolation.service: "false"`),
		// Custom mode by namespace, in the seed's JSON form.
		primaryNamespace("pm-custom", `opencontrail.org/network: '{"domain": "default-domain", "project": "k8s-pm-custom", "name": "blue"}'`),
		blue,
		primaryPod("default", "pm-def", n1, ""),
		primaryPod("pm-shared", "shared", n2, ""),
		primaryPod("pm-iso", "iso1", n1, ""),
		primaryPod("pm-iso", "iso2", n2, ""),
		primaryPod("pm-open", "open", n1, ""),
		primaryPod("pm-custom", "cust", n2, ""),
		// Custom mode by pod annotation: a pod of a shared namespace on blue.
		primaryPod("pm-shared", "blue", n1, `switchboard.dev/network: pm-custom/blue`),
		primaryService("pm-shared", "shared"),
		primaryService("pm-iso", "iso1"),
		primaryService("pm-open", "open"),
	}, "")
	t.Cleanup(func() {
		ctx := testContext(t, 2*time.Minute)
		_, _ = k.Kubectl(ctx, "", "delete", "pod", "-n", "default", "pm-def", "--wait=false")
		_, _ = k.Kubectl(ctx, "", "delete", "namespace", "pm-shared", "pm-iso", "pm-open", "pm-custom", "--wait=false")
	})
	if err := k.Apply(ctx, manifest); err != nil {
		t.Fatal(err)
	}
	pods := map[string]*peer{}
	for _, p := range []peer{{"default", "pm-def", ""}, {"pm-shared", "shared", ""}, {"pm-iso", "iso1", ""}, {"pm-iso", "iso2", ""},
		{"pm-open", "open", ""}, {"pm-custom", "cust", ""}, {"pm-shared", "blue", ""}} {
		if err := k.WaitPodsReady(ctx, p.ns, "app="+p.name, 3*time.Minute); err != nil {
			t.Fatal(err)
		}
		ip, err := k.PodIP(ctx, p.ns, p.name)
		if err != nil {
			t.Fatal(err)
		}
		p.ip = ip
		pods[p.name] = &p
	}
	def, shared, iso1, iso2, open, cust, onBlue := pods["pm-def"], pods["shared"], pods["iso1"], pods["iso2"], pods["open"], pods["cust"], pods["blue"]
	svc := map[string]string{}
	for ns, name := range map[string]string{"pm-shared": "shared", "pm-iso": "iso1", "pm-open": "open"} {
		ip, err := k.Kubectl(ctx, "", "get", "service", "-n", ns, name, "-o", "jsonpath={.spec.clusterIP}")
		if err != nil {
			t.Fatal(err)
		}
		svc[name] = strings.TrimSpace(ip)
	}

	ping := func(src, dst *peer) error {
		out, err := k.Exec(ctx, src.ns, src.name, "ping", "-c", "2", "-W", "2", dst.ip)
		if err != nil {
			return fmt.Errorf("%v: %s", err, out)
		}
		return nil
	}
	get := func(src *peer, ip string) error {
		out, err := k.Exec(ctx, src.ns, src.name, "netcheck", "get", "--timeout", "3s", "http://"+ip+"/")
		if err != nil {
			return fmt.Errorf("%v: %s", err, out)
		}
		return nil
	}
	reach := func(what string, err error) {
		t.Helper()
		if err != nil {
			t.Errorf("%s: want reached, got %v", what, err)
		}
	}
	blocked := func(what string, err error) {
		t.Helper()
		if err == nil {
			t.Errorf("%s: reached, want blocked", what)
		}
	}
	pingAll := func(want bool, pairs ...*peer) {
		t.Helper()
		for i := 0; i < len(pairs); i += 2 {
			what := fmt.Sprintf("ping %s -> %s (%s)", pairs[i], pairs[i+1], pairs[i+1].ip)
			if want {
				reach(what, ping(pairs[i], pairs[i+1]))
			} else {
				blocked(what, ping(pairs[i], pairs[i+1]))
			}
		}
	}

	// Positive controls first: every pod is up and reaches its own kind.
	pingAll(true,
		def, shared, shared, def, // non-isolated namespaces and default reach each other (across nodes)
		iso1, iso2, iso2, iso1, // the isolated namespace's pods reach each other (across nodes)
		cust, onBlue, onBlue, cust, // custom network blue: by namespace and by pod annotation
	)
	reach("open -> shared's Service", get(open, svc["shared"]))
	reach("default -> open's Service", get(def, svc["open"]))
	// The seed's matrix: the isolated namespace cannot reach nor be reached.
	pingAll(false,
		iso1, shared, iso1, def, iso2, def, // isolated -> non-isolated, default
		def, iso1, shared, iso2, // default, non-isolated -> isolated
		iso1, open, open, iso1, // two isolated namespaces
		open, def, // isolated with open services: its pods stay isolated
		def, open, // ... and are not reachable as pods
		onBlue, shared, shared, onBlue, // a pod on blue is off its namespace's cluster network
		cust, def, def, cust, // blue is isolated from the cluster network
		iso1, cust, // ... and from other isolated networks
	)
	// Services: isolated namespaces reach the cluster network's Services;
	// an isolated namespace's Service is its own unless isolation.service is false.
	reach("iso1 -> shared's Service", get(iso1, svc["shared"]))
	reach("cust -> shared's Service", get(cust, svc["shared"]))
	reach("iso2 -> its own namespace's Service", get(iso2, svc["iso1"]))
	blocked("default -> isolated iso1's Service", get(def, svc["iso1"]))
	blocked("shared -> isolated iso1's Service", get(shared, svc["iso1"]))
	reach("shared -> open's Service (service isolation off)", get(shared, svc["open"]))
	reach("iso1 -> open's Service (service isolation off)", get(iso1, svc["open"]))
	blocked("iso1 -> open's pod directly", get(iso1, open.ip+":8080"))
	reach("control: open serves on its pod address", get(open, open.ip+":8080"))
	// Host to pod: the node reaches pods of every kind (kubelet probes made
	// the pods Ready already; this is the same from the node's shell).
	for _, p := range []*peer{def, iso1, open, cust} {
		cmd, err := handle.ExecCmd(ctx, c.Nodes[0].Name, "ping", "-c", "1", "-W", "2", p.ip)
		if err != nil {
			t.Fatal(err)
		}
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("node %s -> pod %s: %v\n%s", c.Nodes[0].Name, p, err, out)
		}
	}
}

// TestPrimaryBadAnnotations: a pod whose namespace or own annotation cannot
// be read does not start, and its events name the annotation and the fix.
func TestPrimaryBadAnnotations(t *testing.T) {
	needPrimary(t)
	ctx := testContext(t, 4*time.Minute)
	c := handle.Clusters[0]
	k := cluster(t, c.Name)
	manifest := primaryNamespace("pm-bad", `switchboard.dev/isolation: "maybe"`) +
		primaryPod("pm-bad", "bad", c.Nodes[0].Name, "") +
		primaryNamespace("pm-badnet", "") +
		primaryPod("pm-badnet", "nonet", c.Nodes[1].Name, `opencontrail.org/network: missing`)
	t.Cleanup(func() {
		_, _ = k.Kubectl(testContext(t, time.Minute), "", "delete", "namespace", "pm-bad", "pm-badnet", "--wait=false")
	})
	if err := k.Apply(ctx, manifest); err != nil {
		t.Fatal(err)
	}
	// The runtime and Multus wrap the plugin's message (and may escape its
	// quotes): look for its parts.
	for _, tc := range []struct {
		ns, pod string
		want    []string
	}{
		{"pm-bad", "bad", []string{"namespace pm-bad: annotation switchboard.dev/isolation=", "maybe", "use ", "true", "own pod network"}},
		{"pm-badnet", "nonet", []string{"pod pm-badnet/nonet: annotation opencontrail.org/network=", "missing", "Network pm-badnet/missing does not exist: create it"}},
	} {
		var events string
		found := false
		for deadline := time.Now().Add(2 * time.Minute); time.Now().Before(deadline) && !found; time.Sleep(2 * time.Second) {
			out, err := k.Kubectl(ctx, "", "get", "events", "-n", tc.ns, "--field-selector", "involvedObject.name="+tc.pod, "-o", "jsonpath={.items[*].message}")
			events, found = out, err == nil
			for _, w := range tc.want {
				found = found && strings.Contains(out, w)
			}
		}
		if !found {
			t.Errorf("pod %s/%s: events do not say %q:\n%s", tc.ns, tc.pod, tc.want, events)
		}
	}
}

// TestPrimaryAgentRestart: the agents keep no memory of their own. After a
// rollout restart of every agent, running pods keep their addresses and
// their isolation, and a new pod on the same node gets an address no
// running pod has (the allocations are read back from the kernel).
func TestPrimaryAgentRestart(t *testing.T) {
	needPrimary(t)
	ctx := testContext(t, 6*time.Minute)
	c := handle.Clusters[0]
	k := cluster(t, c.Name)
	n1, n2 := c.Nodes[0].Name, c.Nodes[1].Name
	manifest := primaryNamespace("pr-shared", "") + primaryNamespace("pr-iso", `switchboard.dev/isolation: "true"`) +
		primaryPod("pr-shared", "a", n1, "") + primaryPod("pr-shared", "b", n2, "") + primaryPod("pr-iso", "c", n1, "")
	t.Cleanup(func() {
		_, _ = k.Kubectl(testContext(t, time.Minute), "", "delete", "namespace", "pr-shared", "pr-iso", "--wait=false")
	})
	if err := k.Apply(ctx, manifest); err != nil {
		t.Fatal(err)
	}
	ips := map[string]string{}
	for _, p := range []struct{ ns, name string }{{"pr-shared", "a"}, {"pr-shared", "b"}, {"pr-iso", "c"}} {
		if err := k.WaitPodsReady(ctx, p.ns, "app="+p.name, 3*time.Minute); err != nil {
			t.Fatal(err)
		}
		ip, err := k.PodIP(ctx, p.ns, p.name)
		if err != nil {
			t.Fatal(err)
		}
		ips[p.name] = ip
	}
	check := func(when string) {
		t.Helper()
		if out, err := k.Exec(ctx, "pr-shared", "a", "ping", "-c", "2", "-W", "2", ips["b"]); err != nil {
			t.Errorf("%s: a -> b (shared, across nodes): %v\n%s", when, err, out)
		}
		if out, err := k.Exec(ctx, "pr-shared", "a", "ping", "-c", "2", "-W", "2", ips["c"]); err == nil {
			t.Errorf("%s: a -> c (isolated) reached:\n%s", when, out)
		}
	}
	check("before the restart")
	for _, args := range [][]string{
		{"rollout", "restart", "-n", "switchboard-system", "daemonset/switchboard-agent"},
		{"rollout", "status", "-n", "switchboard-system", "daemonset/switchboard-agent", "--timeout=180s"},
	} {
		if out, err := k.Kubectl(ctx, "", args...); err != nil {
			t.Fatalf("kubectl %v: %v\n%s", args, err, out)
		}
	}
	check("after the restart")
	for name, ns := range map[string]string{"a": "pr-shared", "b": "pr-shared", "c": "pr-iso"} {
		if ip, err := k.PodIP(ctx, ns, name); err != nil || ip != ips[name] {
			t.Errorf("pod %s: address %q after the restart, was %s (%v)", name, ip, ips[name], err)
		}
	}
	if err := k.Apply(ctx, primaryPod("pr-shared", "d", n1, "")); err != nil {
		t.Fatal(err)
	}
	if err := k.WaitPodsReady(ctx, "pr-shared", "app=d", 3*time.Minute); err != nil {
		t.Fatal(err)
	}
	ip, err := k.PodIP(ctx, "pr-shared", "d")
	if err != nil {
		t.Fatal(err)
	}
	for name, old := range ips {
		if ip == old {
			t.Fatalf("new pod d got %s, the address of running pod %s", ip, name)
		}
	}
	if out, err := k.Exec(ctx, "pr-shared", "d", "ping", "-c", "2", "-W", "2", ips["b"]); err != nil {
		t.Errorf("new pod d -> b: %v\n%s", err, out)
	}
}
