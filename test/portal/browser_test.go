// Package portal_test drives the IDCO's authorization portal in a real
// Chromium (Debian's package) against a real switchboard-idco process on
// loopback: an owner signs in with the one-time link that "switchboard
// portal login" prints, finds a pod's authorization, ends it, and sees it
// gone, in the page and in the cluster's view through the API.
package portal_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"switchboard/internal/idco"
	"switchboard/internal/idco/client"
	"switchboard/internal/idco/portal/portaltest"
)

func TestPortalInChromium(t *testing.T) {
	exe := portaltest.Chromium(t)
	bin := binaries(t)
	p := startIDCO(t, bin)
	ctx := context.Background()

	// An admin makes the users, their keys and alice the owner of blue,
	// with the admin CLI.
	keys := t.TempDir()
	sb := filepath.Join(bin, "switchboard")
	for _, u := range []string{"alice", "carol", "dave"} {
		run(t, sb, "keys", "new", "--user", u, "--dir", keys)
		p.adminCLI("user-add", u)
		p.adminCLI("key-add", u, "--pub", filepath.Join(keys, u+".pub"))
	}
	p.adminCLI("owner-add", "alice", "blue")

	// Cluster east registers blue with carol on its access list, and asks
	// for carol's pod (allowed) and dave's (refused), as its operator
	// would.
	east, err := client.NewFromDir(p.url, filepath.Join(filepath.Dir(p.admin), "east"))
	must(t, err)
	defer east.Close()
	carolPub, err := os.ReadFile(filepath.Join(keys, "carol.pub"))
	must(t, err)
	_, err = east.RegisterNetwork(ctx, "east", "blue", idco.NetworkRegistration{Namespace: "default", Name: "blue", LocalVNI: 100,
		AccessList: []idco.AccessEntry{{User: "carol", PublicKeyPEM: string(carolPub)}}})
	must(t, err)
	authorize := func(user, pod string) idco.Decision {
		raw := strings.TrimSpace(run(t, sb, "token", "sign", "--network", "blue", "--user", user, "--key", filepath.Join(keys, user+".key"), "-o", "raw"))
		d, err := east.Authorize(ctx, "east", idco.PodAuthorization{Network: "blue", Namespace: "default", Pod: pod, Token: raw})
		must(t, err)
		return d
	}
	d := authorize("carol", "web-1")
	if !d.Allowed {
		t.Fatalf("carol's pod refused: %s", d.Detail)
	}
	id := d.AuthorizationID
	if d := authorize("dave", "intruder"); d.Allowed {
		t.Fatal("dave's pod allowed, want NotInAccessList")
	}

	before, err := east.Authorizations(ctx, "east", 0, 0)
	must(t, err)
	link := p.loginLink("alice", keys)
	b := portaltest.NewBrowser(t, exe, 3*time.Minute)
	shot := portaltest.NoShots
	if *screenshots != "" {
		shot = portaltest.ShotsIn(*screenshots)
	}
	who, err := portaltest.SignIn(b, link, shot)
	must(t, err)
	if who != "owner alice" {
		t.Fatalf("signed in as %q, want owner alice", who)
	}
	for _, pg := range []struct{ path, name string }{{"/portal/networks/blue", "network"}, {"/portal/users", "users"},
		{"/portal/refused", "refused"}, {"/portal/audit", "audit"}} {
		must(t, chromedp.Do(b, chromedp.Navigate(p.url+pg.path), chromedp.WaitVisible(chromedp.CSS("#viewer")), shot(pg.name)))
	}

	// Find carol's pod's authorization, end it, confirm.
	found, err := portaltest.FindAuthorization(b, p.url, "blue", "default", "web-1", shot)
	must(t, err)
	if found != id {
		t.Fatalf("the portal lists %s for default/web-1, want %s", found, id)
	}
	summary, table, err := portaltest.EndAuthorization(b, id, shot)
	must(t, err)
	if !strings.Contains(summary, "default/web-1") {
		t.Errorf("confirmation %q does not name the pod", summary)
	}
	if strings.Contains(table, id) {
		t.Errorf("authorization %s still listed as active after it ended", id)
	}

	// The cluster sees it revoked, with the owner's reason.
	l, err := east.Authorizations(ctx, "east", before.Revision, 0)
	must(t, err)
	for _, a := range l.Active {
		if a.ID == id {
			t.Fatalf("the cluster still has %s active", id)
		}
	}
	revoked := false
	for _, a := range l.Revoked {
		revoked = revoked || (a.ID == id && a.RevokedReason == idco.ReasonEnded)
	}
	if !revoked {
		t.Errorf("the cluster's revoked list %+v lacks %s with reason %s", l.Revoked, id, idco.ReasonEnded)
	}
	// The admin's audit log names the owner who ended it.
	audit := p.adminCLI("audit", "--network", "blue", "--limit", "5")
	if !strings.Contains(audit, `"actor":"portal/owner/alice","action":"revoke-authorization"`) {
		t.Errorf("audit lacks the portal's revoke by alice:\n%s", audit)
	}

	// The one-time link is spent: opening it again shows a refusal.
	must(t, chromedp.Do(b, chromedp.Navigate(link), chromedp.WaitVisible(chromedp.CSS("#problem"))))
	problem, err := chromedp.Run(b, chromedp.Text(chromedp.CSS("#problem")))
	must(t, err)
	if !strings.Contains(problem, "unknown, used or expired") {
		t.Errorf("replayed link: %q", problem)
	}
}
