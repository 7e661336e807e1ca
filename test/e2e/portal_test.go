//go:build e2e

package e2e

import (
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"switchboard/internal/idco/portal/portaltest"
	"switchboard/internal/lab"
)

// TestPortalEndsAuthorization is issue 14's portal acceptance on the lab: a
// network's owner signs in to the lab IDCO's portal in Chromium with the
// link "switchboard portal login" prints, finds a pod's authorization, ends
// it, and the pod loses the network across the clusters. Chromium and the
// CLI run in the WAN's network namespace, where the IDCO serves.
func TestPortalEndsAuthorization(t *testing.T) {
	exe := portaltest.Chromium(t)
	ctx := testContext(t, 12*time.Minute)
	a, b := cluster(t, "a"), cluster(t, "b")
	const ns, net = "portal", "portal-net"
	owner, member := newUser(t, ctx, "portal-owner"), newUser(t, ctx, "portal-member")
	owner.register(t, ctx)
	member.register(t, ctx)
	idcoAdmin(t, ctx, "owner-add", owner.name, net)
	b1 := joinedPair(t, ctx, a, b, ns, net, member, "member-token")

	out, err := handle.InWAN(ctx, filepath.Join(labCfg.ImageBin, "switchboard"), "portal", "login",
		"--server", "https://"+lab.IDCOAddr.String(), "--ca", handle.IDCOCA(), "--user", owner.name,
		"--key", filepath.Join(owner.dir, owner.name+".key")).CombinedOutput()
	if err != nil {
		t.Fatalf("switchboard portal login: %v\n%s", err, out)
	}
	link := regexp.MustCompile(`https://\S+/portal/login/link/\S+`).FindString(string(out))
	if link == "" {
		t.Fatalf("switchboard portal login printed no link:\n%s", out)
	}
	br := portaltest.NewBrowser(t, portaltest.InNetns(t, handle.WANNetnsPath(), exe), 3*time.Minute)
	who, err := portaltest.SignIn(br, link, portaltest.NoShots)
	if err != nil || who != "owner "+owner.name {
		t.Fatalf("sign in: %q, %v", who, err)
	}
	id, err := portaltest.FindAuthorization(br, "https://"+lab.IDCOAddr.String(), net, ns, "a1", portaltest.NoShots)
	if err != nil {
		t.Fatal(err)
	}
	summary, table, err := portaltest.EndAuthorization(br, id, portaltest.NoShots)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("ended in the portal: %s", summary)
	if strings.Contains(table, id) {
		t.Errorf("authorization %s still listed as active", id)
	}

	// The operator takes a1 off the network: its event says why, and
	// b1 no longer answers it.
	waitEvent(t, ctx, a, ns, "a1", "NetworkAccessRevoked", "Ended")
	if pingOK(ctx, a, ns, "a1", b1) {
		t.Errorf("a1 still reaches b1 after its authorization ended")
	}
	if left := attachments(t, ctx, a, ns, net); len(left) != 0 {
		t.Errorf("attachments left on %s in cluster a after the end: %v", net, left)
	}
	audit := idcoAdmin(t, ctx, "audit", "--network", net, "--limit", "20")
	if !strings.Contains(audit, `"actor":"portal/owner/`+owner.name+`","action":"revoke-authorization"`) {
		t.Errorf("the IDCO's audit lacks the owner's end:\n%s", audit)
	}
}
