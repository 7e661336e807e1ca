//go:build e2e

package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"switchboard/internal/lab/kube"
	"switchboard/internal/token"
)

// refusedTokens: on an ext-vnet network left open in cluster a (no access
// list: the IDCO's keys and permissions decide), pods presenting a forged,
// expired, wrong-network, unknown-user or revoked-key token are not
// attached; each gets an event naming its reason, and the IDCO's audit log
// holds each refusal. A pod with a good token beside them is attached: the
// refusals are the tokens', not the set-up's.
func refusedTokens(t *testing.T, ctx context.Context, a *kube.Cluster) {
	const ns, net = "icref", "open-net"
	bob, mallory, carol, dave := newUser(t, ctx, "bob"), newUser(t, ctx, "mallory"), newUser(t, ctx, "carol"), newUser(t, ctx, "dave")
	bob.register(t, ctx)
	daveKey := dave.register(t, ctx)
	for _, u := range []string{"bob", "dave"} {
		idcoAdmin(t, ctx, "grant", u, net)
	}
	idcoAdmin(t, ctx, "key-revoke", daveKey)
	setupNetworks(t, ctx, a, ns, extNetwork(ns, net, clusterRanges["a"]))

	// The forged token claims to be bob's but is signed with mallory's key.
	forged := switchboard(t, ctx, "token", "sign", "--network", net, "--user", "bob",
		"--key", mallory.dir+"/mallory.key", "-n", ns, "--name", "forged")
	cases := []struct{ pod, secret, reason string }{
		{"forged", forged, "Forged"},
		{"expired", expiredSecret(t, bob, ns, "expired", net), "Expired"},
		{"wrong-network", bob.secret(t, ctx, ns, "wrong-network", "another-net"), "WrongNetwork"},
		{"unknown-user", carol.secret(t, ctx, ns, "unknown-user", net), "UnknownUser"},
		{"revoked-key", dave.secret(t, ctx, ns, "revoked-key", net), "RevokedKey"},
	}
	manifest := bob.secret(t, ctx, ns, "good", net) + "---\n" + icPod(ns, "good", "a-node2", net, "good")
	for _, c := range cases {
		manifest += "---\n" + c.secret + "---\n" + strings.Replace(icPod(ns, c.pod, "a-node2", net, c.pod), "app: testbox", "app: refused", 1)
	}
	if err := a.Apply(ctx, manifest); err != nil {
		t.Fatal(err)
	}
	if err := a.WaitPodsReady(ctx, ns, "app=testbox", 2*time.Minute); err != nil {
		t.Fatal(err)
	}
	for _, c := range cases {
		ev := waitEvent(t, ctx, a, ns, c.pod, "NetworkAuthorizationRefused", c.reason)
		t.Logf("%s: %s", c.pod, ev)
	}
	// Not attached: the only Attachment on the network is the good pod's.
	if atts := attachments(t, ctx, a, ns, net); len(atts) != 1 {
		t.Errorf("attachments on %s: %v, want only the good pod's", net, atts)
	}
	out, err := a.Kubectl(ctx, "", "get", "pods", "-n", ns, "-l", "app=refused",
		"-o", `jsonpath={range .items[*]}{.metadata.name} {.status.containerStatuses[0].ready}{"\n"}{end}`)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(out, "true") {
		t.Errorf("a pod with a bad token runs:\n%s", out)
	}

	// The IDCO's audit log holds each decision, with its reason.
	type entry struct {
		Action, Subject, Reason string
		Allowed                 bool
	}
	audited := map[string]entry{}
	for _, line := range strings.Split(strings.TrimSpace(idcoAdmin(t, ctx, "audit", "--network", net, "--limit", "200")), "\n") {
		var e entry
		if err := json.Unmarshal([]byte(line), &e); err == nil && e.Action == "authorize" {
			if _, seen := audited[e.Subject]; !seen { // newest first
				audited[e.Subject] = e
			}
		}
	}
	if e := audited[ns+"/good"]; !e.Allowed {
		t.Errorf("audit of the good pod: %+v, want allowed", e)
	}
	for _, c := range cases {
		e, ok := audited[ns+"/"+c.pod]
		if !ok || e.Allowed || e.Reason != c.reason {
			t.Errorf("audit of %s: %+v (found %v), want refused with %s", c.pod, e, ok, c.reason)
		}
	}
}

// expiredSecret is a Secret with u's token for network that expired an
// hour ago, signed with the token package the CLI uses (the CLI signs only
// tokens valid from now on).
func expiredSecret(t *testing.T, u icUser, ns, name, network string) string {
	t.Helper()
	pem, err := os.ReadFile(filepath.Join(u.dir, u.name+".key"))
	if err != nil {
		t.Fatal(err)
	}
	key, err := token.ParsePrivateKeyPEM(pem)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().Truncate(time.Second)
	raw, err := token.Sign(token.Claims{Network: network, User: u.name, IssuedAt: now.Add(-2 * time.Hour), Expiry: now.Add(-time.Hour)}, key)
	if err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("apiVersion: v1\nkind: Secret\nmetadata: {name: %s, namespace: %s}\nstringData: {%s: %s}\n", name, ns, token.SecretKeyToken, raw)
}
