package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"switchboard/internal/token"
)

func TestTokenInspect(t *testing.T) {
	dir := t.TempDir()
	mustRun(t, "", "keys", "new", "--user", "alice", "--dir", dir)
	mustRun(t, "", "keys", "new", "--user", "mallory", "--dir", dir)
	key, pub, otherPub := filepath.Join(dir, "alice.key"), filepath.Join(dir, "alice.pub"), filepath.Join(dir, "mallory.pub")
	sign := func(args ...string) string {
		return mustRun(t, "", append([]string{"token", "sign", "--network", "blue", "--user", "alice", "--key", key}, args...)...)
	}
	secretFile := filepath.Join(dir, "secret.yaml")
	if err := os.WriteFile(secretFile, []byte(sign("--clusters", "a")), 0o600); err != nil {
		t.Fatal(err)
	}
	raw := sign("-o", "raw")
	seedSecret := "apiVersion: v1\nkind: Secret\nmetadata:\n  name: sample-one-authorization-key\ntype: Opaque\nstringData:\n  public-key.pem: " + strings.TrimSpace(raw) + "\n"

	for _, tc := range []struct {
		name, stdin string
		args        []string
		reason      token.Reason // expected failure; "" for success
		errText     string       // for failures without a Reason
		out         []string
	}{
		{name: "raw on stdin, unverified", stdin: raw, args: nil, out: []string{"network:     blue", "user:        alice", "clusters:    any", "not verified"}},
		{name: "raw via -", stdin: raw, args: []string{"-", "--pub", pub}, out: []string{"verified:    OK"}},
		{name: "secret file verified", args: []string{secretFile, "--pub", pub, "--cluster", "a"}, out: []string{"clusters:    a", "verified:    OK"}},
		{name: "JSON secret", stdin: sign("-o", "json"), args: []string{"--pub", pub}, out: []string{"verified:    OK"}},
		{name: "seed 000 secret with stringData", stdin: seedSecret, args: []string{"--pub", pub}, out: []string{"verified:    OK"}},
		{name: "another user's key", args: []string{secretFile, "--pub", otherPub}, reason: token.ReasonForged, out: []string{"FAILED (Forged)"}},
		{name: "wrong network", args: []string{secretFile, "--pub", pub, "--network", "red"}, reason: token.ReasonWrongNetwork},
		{name: "wrong cluster", args: []string{secretFile, "--pub", pub, "--cluster", "b"}, reason: token.ReasonWrongCluster},
		{name: "garbage token", stdin: "a.b.c", reason: token.ReasonMalformed},
		{name: "network without pub", stdin: raw, args: []string{"--network", "blue"}, errText: "--pub"},
		{name: "empty input", stdin: "\n", errText: "empty"},
		{name: "a ConfigMap", stdin: "apiVersion: v1\nkind: ConfigMap\n", errText: "ConfigMap"},
		{name: "secret without token", stdin: "apiVersion: v1\nkind: Secret\ndata:\n  user: YWxpY2U=\n", errText: `"token"`},
		{name: "missing file", args: []string{filepath.Join(dir, "nope")}, errText: "nope"},
		{name: "pub is a private key", stdin: raw, args: []string{"--pub", key}, errText: "--pub"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, err := run(t, tc.stdin, append([]string{"token", "inspect"}, tc.args...)...)
			switch r, _ := token.ReasonOf(err); {
			case tc.reason == "" && tc.errText == "" && err != nil:
				t.Fatalf("inspect: %v\n%s", err, out)
			case tc.reason != "" && r != tc.reason:
				t.Fatalf("inspect: %v (reason %q), want reason %s", err, r, tc.reason)
			case tc.errText != "" && (err == nil || !strings.Contains(err.Error(), tc.errText)):
				t.Fatalf("inspect: %v, want an error mentioning %q", err, tc.errText)
			}
			for _, w := range tc.out {
				if !strings.Contains(out, w) {
					t.Errorf("output lacks %q:\n%s", w, out)
				}
			}
		})
	}
}
