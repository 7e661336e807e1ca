//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"switchboard/internal/lab"
	"switchboard/internal/lab/kube"
)

// The inter-cluster tests run on both clusters of the lab, which `lab
// install` puts in inter-cluster mode: an IDCO on the WAN (provider
// lab.IDCOProvider), operators with --inter-cluster, an edge on each
// cluster's gateway node (node1). Pods run on node2, so that their traffic
// crosses node -> gateway -> WAN tunnel -> gateway -> node.

// icUser is a user with a key pair made by `switchboard keys new`.
type icUser struct{ name, dir string }

func newUser(t testing.TB, ctx context.Context, name string) icUser {
	t.Helper()
	u := icUser{name: name, dir: t.TempDir()}
	switchboard(t, ctx, "keys", "new", "--user", name, "--dir", u.dir)
	return u
}

func (u icUser) pubFile() string { return filepath.Join(u.dir, u.name+".pub") }

func (u icUser) pub(t testing.TB) string {
	t.Helper()
	b, err := os.ReadFile(u.pubFile())
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// register adds the user and their key to the lab's IDCO and returns the
// key's fingerprint.
func (u icUser) register(t testing.TB, ctx context.Context) string {
	t.Helper()
	idcoAdmin(t, ctx, "user-add", u.name)
	return strings.TrimSpace(idcoAdmin(t, ctx, "key-add", u.name, "--pub", u.pubFile()))
}

// secret returns the Secret (YAML) named name in ns holding a token that u
// signs with `switchboard token sign ARGS`, for network unless args say.
func (u icUser) secret(t testing.TB, ctx context.Context, ns, name, network string, args ...string) string {
	t.Helper()
	return switchboard(t, ctx, append([]string{"token", "sign", "--network", network, "--user", u.name,
		"--key", filepath.Join(u.dir, u.name+".key"), "-n", ns, "--name", name}, args...)...)
}

// switchboard runs the project's CLI and returns its standard output.
func switchboard(t testing.TB, ctx context.Context, args ...string) string {
	t.Helper()
	out, err := exec.CommandContext(ctx, filepath.Join(labCfg.ImageBin, "switchboard"), args...).Output()
	if err != nil {
		var stderr string
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = string(ee.Stderr)
		}
		t.Fatalf("switchboard %s: %v\n%s", strings.Join(args, " "), err, stderr)
	}
	return string(out)
}

// idcoAdmin runs `switchboard-idco admin ARGS` against the lab's IDCO.
func idcoAdmin(t testing.TB, ctx context.Context, args ...string) string {
	t.Helper()
	out, err := handle.IDCOAdminCmd(ctx, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("switchboard-idco admin %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// extNetwork is the manifest of an ext-vnet Network served by the lab's
// IDCO, with addresses from ipRange ("start-end" of 10.200.0.0/24: each
// cluster allocates from its own range of the shared subnet) and an access
// list of users (none: left open, the IDCO's permissions decide).
func extNetwork(ns, name, ipRange string, users ...string) string {
	start, end, _ := strings.Cut(ipRange, "-")
	m := fmt.Sprintf(`apiVersion: switchboard.dev/v1alpha1
kind: Network
metadata: {name: %s, namespace: %s}
spec:
  type: ext-vnet
  provider: {name: %s, domain: %q}
  ipam: {cidr: 10.200.0.0/24, ranges: [{start: %s, end: %s}]}
`, name, ns, lab.IDCOProvider, lab.IDCOAddr.String(), start, end)
	if len(users) > 0 {
		m += "  accessList:\n"
		for i := 0; i < len(users); i += 2 {
			m += fmt.Sprintf("  - user: %s\n    publicKey: |\n      %s\n", users[i],
				strings.ReplaceAll(strings.TrimSpace(users[i+1]), "\n", "\n      "))
		}
	}
	return m
}

// icPod is a testbox pod on node asking for network with the token in secret.
func icPod(ns, name, node, network, secret string) string {
	pod := kube.TestboxPods(ns, []lab.Node{{Name: node}}, fmt.Sprintf(
		"k8s.v1.cni.cncf.io/networks: %s, switchboard.dev/token-secret: %s", network, secret))
	_, pod, _ = strings.Cut(pod, "---\n") // no Namespace: the test made it
	return strings.Replace(pod, "name: pod1", "name: "+name, 1)
}

// clusterRanges are the address ranges of clusters a and b in 10.200.0.0/24.
var clusterRanges = map[string]string{"a": "10.200.0.10-10.200.0.99", "b": "10.200.0.100-10.200.0.199"}

// pingOK reports whether one ping from pod to dst over net1 is answered.
func pingOK(ctx context.Context, k *kube.Cluster, ns, pod, dst string) bool {
	_, err := k.Exec(ctx, ns, pod, "ping", "-c", "1", "-W", "1", "-I", "net1", dst)
	return err == nil
}

// waitPing waits up to d for a ping from pod to dst to be answered and
// returns how long that took.
func waitPing(t testing.TB, ctx context.Context, k *kube.Cluster, ns, pod, dst string, d time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	for !pingOK(ctx, k, ns, pod, dst) {
		if time.Since(start) > d {
			t.Fatalf("%s/%s -> %s: no answer within %s", ns, pod, dst, d)
		}
	}
	return time.Since(start)
}

// joinedPair makes the ext-vnet network net in namespace ns of clusters a
// and b with user as its only member, waits until both are registered,
// starts pod a1 on a-node2 and b1 on b-node2 with the user's token (Secret
// secretName), waits for the first answer from a1 to b1 and returns b1's
// address on the network.
func joinedPair(t *testing.T, ctx context.Context, a, b *kube.Cluster, ns, net string, user icUser, secretName string) string {
	t.Helper()
	setupNetworks(t, ctx, a, ns, extNetwork(ns, net, clusterRanges["a"], user.name, user.pub(t)))
	setupNetworks(t, ctx, b, ns, extNetwork(ns, net, clusterRanges["b"], user.name, user.pub(t)))
	for _, k := range []*kube.Cluster{a, b} {
		waitCondition(t, ctx, k, ns, net, "Ready", "Registered")
	}
	secret := user.secret(t, ctx, ns, secretName, net)
	if err := a.Apply(ctx, secret+"---\n"+icPod(ns, "a1", "a-node2", net, secretName)); err != nil {
		t.Fatal(err)
	}
	if err := b.Apply(ctx, secret+"---\n"+icPod(ns, "b1", "b-node2", net, secretName)); err != nil {
		t.Fatal(err)
	}
	for _, k := range []*kube.Cluster{a, b} {
		if err := k.WaitPodsReady(ctx, ns, "app=testbox", 3*time.Minute); err != nil {
			t.Fatal(err)
		}
	}
	b1 := strings.Split(netIP(t, ctx, b, ns, "b1", "net1"), "/")[0]
	t.Logf("a1 -> b1 (%s): first answer after %s", b1, waitPing(t, ctx, a, ns, "a1", b1, 90*time.Second).Round(time.Millisecond))
	return b1
}

// TestInterCluster walks seed 000's flow on the two clusters: an ext-vnet
// network in both, registered with the IDCO, a user's signed tokens, pods
// on both sides that reach each other through the edges; then isolation,
// refusals, restarts, and revocation last (it ends the user's access).
func TestInterCluster(t *testing.T) {
	ctx := testContext(t, 15*time.Minute)
	a, b := cluster(t, "a"), cluster(t, "b")
	const ns, net = "ic", "sample-inter-network"
	alice := newUser(t, ctx, "alice")
	aliceKey := alice.register(t, ctx)
	setupNetworks(t, ctx, a, ns,
		extNetwork(ns, net, clusterRanges["a"], "alice", alice.pub(t)),
		network(ns, "plain", "{cidr: 10.200.0.0/24}", ""))
	setupNetworks(t, ctx, b, ns, extNetwork(ns, net, clusterRanges["b"], "alice", alice.pub(t)))
	for _, k := range []*kube.Cluster{a, b} {
		msg := waitCondition(t, ctx, k, ns, net, "Ready", "Registered")
		t.Logf("%s: %s", k.Name, msg)
	}

	secret := alice.secret(t, ctx, ns, "alice-token", net)
	if err := a.Apply(ctx, secret+"---\n"+icPod(ns, "a1", "a-node2", net, "alice-token")+
		"---\n"+strings.Replace(icPod(ns, "plain1", "a-node2", "plain", "none"), "app: testbox", "app: plain", 1)); err != nil {
		t.Fatal(err)
	}
	if err := b.Apply(ctx, secret+"---\n"+icPod(ns, "b1", "b-node2", net, "alice-token")); err != nil {
		t.Fatal(err)
	}
	for _, k := range []*kube.Cluster{a, b} {
		if err := k.WaitPodsReady(ctx, ns, "app=testbox", 3*time.Minute); err != nil {
			t.Fatal(err)
		}
	}
	if err := a.WaitPodsReady(ctx, ns, "app=plain", time.Minute); err != nil {
		t.Fatal(err)
	}
	a1, b1, plain1 := netIP(t, ctx, a, ns, "a1", "net1"), netIP(t, ctx, b, ns, "b1", "net1"), netIP(t, ctx, a, ns, "plain1", "net1")
	a1, b1, plain1 = strings.Split(a1, "/")[0], strings.Split(b1, "/")[0], strings.Split(plain1, "/")[0]
	t.Logf("a1 %s (a-node2), b1 %s (b-node2), plain1 %s (a-node2, plain vnet, same subnet)", a1, b1, plain1)
	waitEvent(t, ctx, a, ns, "a1", "NetworkAuthorized", `user "alice" authorized`)

	t.Run("authorized pods reach each other across clusters", func(t *testing.T) {
		for _, c := range []struct {
			k        *kube.Cluster
			pod, dst string
		}{{a, "a1", b1}, {b, "b1", a1}} {
			// Authorized pods do not mean the edges have their peers yet
			// (long poll): wait for the first answer, then all of three.
			t.Logf("%s -> %s: first answer after %s", c.pod, c.dst, waitPing(t, ctx, c.k, ns, c.pod, c.dst, 90*time.Second).Round(time.Millisecond))
			if out, err := c.k.Exec(ctx, ns, c.pod, "ping", "-c", "3", "-W", "2", "-I", "net1", c.dst); err != nil {
				t.Fatalf("%s -> %s: %v\n%s", c.pod, c.dst, err, out)
			}
		}
		out, err := a.Exec(ctx, ns, "a1", "netcheck", "send", "--bytes", "10485760", b1+":5001")
		if err != nil || !strings.Contains(out, "sha256 ok") {
			t.Fatalf("10 MB a1 -> b1: %v\n%s", err, out)
		}
		t.Log(strings.TrimSpace(out))
	})

	t.Run("the WAN carries no plaintext of members' traffic", func(t *testing.T) {
		for _, k := range []*kube.Cluster{a, b} {
			t.Logf("%s: %s", k.Name, waitCondition(t, ctx, k, ns, net, "WANEncrypted", "WireGuard"))
		}
		wanCarriesNoPlaintext(t, ctx, a, ns, b1)
	})

	t.Run("a host on the WAN cannot inject frames into the network", func(t *testing.T) {
		wanInjection(t, ctx, a, b, ns, net)
	})

	t.Run("a pod on a plain vnet reaches neither", func(t *testing.T) {
		for _, dst := range []string{a1, b1} {
			if out, err := a.Exec(ctx, ns, "plain1", "ping", "-c", "2", "-W", "1", "-I", "net1", dst); err == nil {
				t.Errorf("plain1 reached %s:\n%s", dst, out)
			}
			if out, err := a.Exec(ctx, ns, "plain1", "arping", "-c", "2", "-w", "2", "-I", "net1", dst); err == nil {
				t.Errorf("plain1 got an ARP answer for %s:\n%s", dst, out)
			}
		}
		// The same ARP check succeeds across the clusters on the ext-vnet.
		if out, err := a.Exec(ctx, ns, "a1", "arping", "-c", "2", "-w", "2", "-I", "net1", b1); err != nil {
			t.Errorf("a1 got no ARP answer from b1: %v\n%s", err, out)
		}
	})

	t.Run("bad tokens are refused with their reason and audited", func(t *testing.T) {
		refusedTokens(t, ctx, a)
	})

	t.Run("IDCO and edge restarts lose no state and traffic resumes", func(t *testing.T) {
		vni := func(k *kube.Cluster) string {
			out, err := k.Kubectl(ctx, "", "get", "network", "-n", ns, net, "-o", "jsonpath={.status.interClusterVNI}")
			if err != nil {
				t.Fatal(err)
			}
			return out
		}
		before := vni(a)
		start := time.Now()
		if err := lab.RestartIDCO(ctx, labCfg); err != nil {
			t.Fatal(err)
		}
		t.Logf("IDCO restarted in %s", time.Since(start).Round(time.Millisecond))
		t.Logf("a1 -> b1 answered %s after the IDCO's restart", waitPing(t, ctx, a, ns, "a1", b1, 30*time.Second).Round(time.Millisecond))
		// Its database kept the users and keys: a new pod is authorized.
		if err := a.Apply(ctx, icPod(ns, "a2", "a-node2", net, "alice-token")); err != nil {
			t.Fatal(err)
		}
		if err := a.WaitPodsReady(ctx, ns, "app=testbox", 2*time.Minute); err != nil {
			t.Fatal(err)
		}
		waitPing(t, ctx, a, ns, "a2", b1, 30*time.Second)

		for _, k := range []*kube.Cluster{a, b} {
			start := time.Now()
			if _, err := k.Kubectl(ctx, "", "delete", "pod", "-n", "switchboard-system", "-l", "app=switchboard-edge", "--wait=true"); err != nil {
				t.Fatal(err)
			}
			if _, err := k.Kubectl(ctx, "", "rollout", "status", "-n", "switchboard-system", "daemonset/switchboard-edge", "--timeout=120s"); err != nil {
				t.Fatal(err)
			}
			t.Logf("%s: edge restarted in %s; a1 -> b1 answered %s later", k.Name, time.Since(start).Round(time.Millisecond),
				waitPing(t, ctx, a, ns, "a1", b1, 30*time.Second).Round(time.Millisecond))
		}
		if after := vni(a); after != before {
			t.Errorf("inter-cluster VNI changed across the restarts: %s -> %s", before, after)
		}
		if out, err := b.Exec(ctx, ns, "b1", "ping", "-c", "3", "-W", "2", "-I", "net1", a1); err != nil {
			t.Errorf("b1 -> a1 after the restarts: %v\n%s", err, out)
		}
	})

	t.Run("rotating an edge's WireGuard key resumes traffic unaided", func(t *testing.T) {
		rotateEdgeKey(t, ctx, a, b, ns, a1)
	})

	t.Run("revoking the key detaches the user's pods within 5 s", func(t *testing.T) {
		if !pingOK(ctx, b, ns, "b1", a1) {
			t.Fatal("b1 does not reach a1 before the revocation")
		}
		// b1 pings a1 until a ping goes unanswered, stamping each with the
		// machine's uptime (the pod and the test share the kernel's clock).
		probe := fmt.Sprintf(`i=0; while [ $i -lt 400 ]; do
  if ping -c1 -W1 -I net1 %s >/dev/null 2>&1; then read u _ </proc/uptime; echo "ok $u"; : >/probing
  else read u _ </proc/uptime; echo "fail $u"; exit 0; fi
  i=$((i+1)); sleep 0.05
done`, a1)
		type result struct {
			out string
			err error
		}
		done := make(chan result, 1)
		go func() {
			out, err := b.Exec(ctx, ns, "b1", "sh", "-c", probe)
			done <- result{out, err}
		}()
		// Revoke once the probe has had an answer (it marks /probing).
		for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(200 * time.Millisecond) {
			if _, err := b.Exec(ctx, ns, "b1", "ls", "/probing"); err == nil {
				break
			}
			if time.Now().After(deadline) {
				t.Fatal("the probe in b1 got no answer from a1 within 30 s")
			}
		}
		revokedAt := uptime(t)
		idcoAdmin(t, ctx, "key-revoke", aliceKey)
		r := <-done
		if r.err != nil {
			t.Fatalf("probe from b1: %v\n%s", r.err, r.out)
		}
		lastOK, failed := -1.0, -1.0
		for _, line := range strings.Split(strings.TrimSpace(r.out), "\n") {
			var what string
			var at float64
			if _, err := fmt.Sscanf(line, "%s %f", &what, &at); err != nil {
				continue
			}
			switch what {
			case "ok":
				lastOK = at
			case "fail":
				failed = at
			}
		}
		// The probe answered before the revocation (it made /probing). What
		// must hold: a ping went unanswered, and not before the revocation
		// (that would be a broken path, not the cut). The last answer may
		// well come before the revocation's stamp: a cut that fast is the
		// best case, not a failure.
		switch {
		case failed < 0:
			t.Fatalf("the probe never saw the cut (revoked at uptime %.2f):\n%s", revokedAt, r.out)
		case failed < revokedAt:
			t.Fatalf("a ping went unanswered before the revocation (at uptime %.2f, revoked at %.2f): the path is broken:\n%s", failed, revokedAt, r.out)
		}
		// The first unanswered ping was sent 1 s (its -W) before "fail", or
		// at the revocation if that came later.
		cut := max(failed-1-revokedAt, 0)
		t.Logf("revoked at uptime %.2f: last answer %.2f s from it, first unanswered ping sent at most %.2f s after it", revokedAt, lastOK-revokedAt, cut)
		if cut > 5 {
			t.Errorf("traffic was cut %.2f s after the revocation, want at most 5 s", cut)
		}
		for _, pod := range []string{"a1", "a2"} {
			waitEvent(t, ctx, a, ns, pod, "NetworkAccessRevoked", "RevokedKey")
		}
		waitEvent(t, ctx, b, ns, "b1", "NetworkAccessRevoked", "RevokedKey")
		if left := attachments(t, ctx, a, ns, net); len(left) != 0 {
			t.Errorf("attachments left on %s after the revocation: %v", net, left)
		}
	})
}

// uptime is the machine's /proc/uptime, in seconds.
func uptime(t *testing.T) float64 {
	t.Helper()
	b, err := os.ReadFile("/proc/uptime")
	if err != nil {
		t.Fatal(err)
	}
	var up float64
	if _, err := fmt.Sscanf(string(b), "%f", &up); err != nil {
		t.Fatal(err)
	}
	return up
}
