// Package portaltest drives the IDCO's portal in a real Chromium through
// chromedp, for the browser tests (test/portal against a local IDCO, the
// e2e suite against the lab's): find the browser, start it, sign in with a
// one-time link, end an authorization.
package portaltest

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// Chromium returns the path of Debian's chromium, or skips tb saying how to
// install it.
func Chromium(tb testing.TB) string {
	tb.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	tb.Skip("no Chromium on PATH: install Debian's package (apt-get install chromium) to run the portal's browser test")
	return ""
}

// InNetns returns the path of a script that runs exe in the network
// namespace at netnsPath (/run/netns/NAME), for a browser that must reach
// an address only that namespace has.
func InNetns(tb testing.TB, netnsPath, exe string) string {
	tb.Helper()
	p := filepath.Join(tb.TempDir(), "chromium-in-netns")
	script := fmt.Sprintf("#!/bin/sh\nexec nsenter --net=%s -- %s \"$@\"\n", netnsPath, exe)
	if err := os.WriteFile(p, []byte(script), 0o755); err != nil {
		tb.Fatal(err)
	}
	return p
}

// NewBrowser starts a headless Chromium (exe) that trusts any certificate
// (the IDCO's is signed by its own CA) and returns its context; the browser
// stops when tb ends, or after timeout.
func NewBrowser(tb testing.TB, exe string, timeout time.Duration) context.Context {
	tb.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(exe),
		chromedp.NoSandbox, // the tests run as root
		chromedp.Flag("ignore-certificate-errors", true),
		chromedp.WindowSize(1280, 860),
	)
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(alloc)
	ctx, cancelTimeout := context.WithTimeout(ctx, timeout)
	tb.Cleanup(func() { cancelTimeout(); cancelCtx(); cancelAlloc() })
	return ctx
}

// Shot is a step that may save a screenshot of the current page by name;
// NoShots saves none.
type Shot func(name string) chromedp.Action[chromedp.Void]

// NoShots takes no screenshots.
func NoShots(string) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(context.Context, *chromedp.Target) error { return nil })
}

// ShotsIn saves full-page PNGs as DIR/NAME.png.
func ShotsIn(dir string) Shot {
	return func(name string) chromedp.Action[chromedp.Void] {
		return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
			buf, err := chromedp.FullScreenshot(100)(ctx, t)
			if err != nil {
				return err
			}
			return os.WriteFile(filepath.Join(dir, name+".png"), buf, 0o644)
		})
	}
}

// SignIn opens a one-time link, presses its sign-in button and returns
// who the portal says is signed in ("owner alice").
func SignIn(ctx context.Context, link string, shot Shot) (string, error) {
	err := chromedp.Do(ctx,
		chromedp.Navigate(link),
		chromedp.WaitVisible(chromedp.CSS("#sign-in")),
		shot("login-link"),
		chromedp.Click(chromedp.CSS("#sign-in")),
		chromedp.WaitVisible(chromedp.CSS("#viewer")),
		shot("networks"),
	)
	if err != nil {
		return "", fmt.Errorf("sign in with %s: %w", link, err)
	}
	return chromedp.Run(ctx, chromedp.Text(chromedp.CSS("#viewer")))
}

// FindAuthorization opens the active authorizations of network at base
// (https://host:port) and returns the ID of the row of namespace/pod.
func FindAuthorization(ctx context.Context, base, network, namespace, pod string, shot Shot) (string, error) {
	err := chromedp.Do(ctx,
		chromedp.Navigate(base+"/portal/authorizations?network="+network),
		chromedp.WaitVisible(chromedp.CSS("#authorizations")),
		shot("authorizations"),
	)
	if err != nil {
		return "", err
	}
	html, err := chromedp.Run(ctx, chromedp.OuterHTML(chromedp.CSS("#authorizations")))
	if err != nil {
		return "", err
	}
	for _, row := range strings.Split(html, "<tr ")[1:] {
		id, ok := strings.CutPrefix(row, `id="authz-`)
		if ok && strings.Contains(row, "<td>"+namespace+"/"+pod+"</td>") {
			return id[:strings.IndexByte(id, '"')], nil
		}
	}
	return "", fmt.Errorf("no active authorization of %s/%s on network %s in the portal", namespace, pod, network)
}

// EndAuthorization presses End on authorization id (on the page
// FindAuthorization opened), confirms, and returns the confirmation's
// summary and the active authorizations' table after it.
func EndAuthorization(ctx context.Context, id string, shot Shot) (summary, table string, err error) {
	err = chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS("#end-"+id)),
		chromedp.WaitVisible(chromedp.CSS("#confirm")),
		shot("confirm"),
	)
	if err != nil {
		return "", "", fmt.Errorf("open the confirmation of %s: %w", id, err)
	}
	if summary, err = chromedp.Run(ctx, chromedp.Text(chromedp.CSS("#summary"))); err != nil {
		return "", "", err
	}
	if err = chromedp.Do(ctx, chromedp.Click(chromedp.CSS("#confirm")), chromedp.WaitVisible(chromedp.CSS("#done")), shot("ended")); err != nil {
		return "", "", fmt.Errorf("confirm the end of %s: %w", id, err)
	}
	table, err = chromedp.Run(ctx, chromedp.OuterHTML(chromedp.CSS("#authorizations")))
	return summary, table, err
}
