package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"

	"switchboard/internal/token"
)

// run executes the switchboard command line in-process, with a fresh command
// tree, and returns what it printed.
func run(t *testing.T, stdin string, args ...string) (string, error) {
	t.Helper()
	root := rootCommand(invocation{})
	var out bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&out)
	root.SetIn(strings.NewReader(stdin))
	root.SetArgs(args)
	err := root.ExecuteContext(context.Background())
	return out.String(), err
}

func mustRun(t *testing.T, stdin string, args ...string) string {
	t.Helper()
	out, err := run(t, stdin, args...)
	if err != nil {
		t.Fatalf("switchboard %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

func readPub(t *testing.T, path string) token.StaticKeys {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	pub, err := token.ParsePublicKeyPEM(data)
	if err != nil {
		t.Fatal(err)
	}
	k, err := token.NewKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	return token.StaticKeys{"alice": {k}}
}

func TestKeysNewSignVerify(t *testing.T) {
	for _, alg := range []string{"ed25519", "ecdsa-p256"} {
		t.Run(alg, func(t *testing.T) {
			dir := t.TempDir()
			out := mustRun(t, "", "keys", "new", "--user", "alice", "--alg", alg, "--dir", dir)
			priv, pub := filepath.Join(dir, "alice.key"), filepath.Join(dir, "alice.pub")
			for path, mode := range map[string]os.FileMode{priv: 0o600, pub: 0o644} {
				st, err := os.Stat(path)
				if err != nil || st.Mode().Perm() != mode {
					t.Fatalf("%s: %v, mode %v; want mode %v", path, err, st.Mode().Perm(), mode)
				}
			}
			keys := readPub(t, pub)
			if !strings.Contains(out, keys["alice"][0].ID) || !strings.Contains(out, priv) || !strings.Contains(out, "access list") {
				t.Errorf("keys new printed %q; want both paths, the fingerprint %s and an access-list hint", out, keys["alice"][0].ID)
			}

			yml := mustRun(t, "", "token", "sign", "--network", "blue", "--user", "alice", "--key", priv, "--clusters", "a,b", "-n", "team")
			var sec corev1.Secret
			if err := yaml.UnmarshalStrict([]byte(yml), &sec); err != nil {
				t.Fatalf("token sign printed no Secret: %v\n%s", err, yml)
			}
			if sec.Kind != "Secret" || sec.APIVersion != "v1" || sec.Name != "blue-alice-token" || sec.Namespace != "team" ||
				sec.Type != token.SecretType || sec.Labels[token.LabelNetwork] != "blue" || string(sec.Data[token.SecretKeyUser]) != "alice" {
				t.Errorf("Secret = %+v", sec)
			}
			raw, err := token.FromSecretData(sec.Data)
			if err != nil {
				t.Fatal(err)
			}
			c, err := token.Verify(context.Background(), raw, keys, token.Expect{Network: "blue", Cluster: "a"})
			if err != nil {
				t.Fatalf("Verify the signed Secret's token with alice.pub: %v", err)
			}
			if got := c.Expiry.Sub(c.IssuedAt); got.Hours() != 24 {
				t.Errorf("lifetime %v, want the default --ttl 24h", got)
			}
			if _, err := token.Verify(context.Background(), raw, keys, token.Expect{Network: "blue", Cluster: "c"}); err == nil {
				t.Error("token signed for clusters a,b verified for cluster c")
			}
		})
	}
}

func TestTokenSignOutputs(t *testing.T) {
	t.Setenv("XDG_CONFIG_HOME", t.TempDir())
	mustRun(t, "", "keys", "new", "--user", "alice") // the default keys dir
	pub := filepath.Join(os.Getenv("XDG_CONFIG_HOME"), "switchboard", "keys", "alice.pub")
	keys := readPub(t, pub)

	raw := strings.TrimSpace(mustRun(t, "", "token", "sign", "--network", "blue", "--user", "alice", "-o", "raw", "--ttl", "1h"))
	if _, err := token.Verify(context.Background(), raw, keys, token.Expect{Network: "blue"}); err != nil {
		t.Errorf("raw token with the default --key: %v", err)
	}

	js := mustRun(t, "", "token", "sign", "--network", "Blue_Net", "--user", "alice", "-o", "json", "--not-before", "1h")
	var sec corev1.Secret
	if err := json.Unmarshal([]byte(js), &sec); err != nil {
		t.Fatalf("-o json: %v\n%s", err, js)
	}
	if sec.Name != "blue-net-alice-token" {
		t.Errorf("Secret name %q, want the sanitised blue-net-alice-token", sec.Name)
	}
	c, err := token.Parse(string(sec.Data[token.SecretKeyToken]))
	if err != nil {
		t.Fatal(err)
	}
	if d := c.NotBefore.Sub(c.IssuedAt); d.Hours() != 1 || c.Expiry.Sub(c.NotBefore).Hours() != 24 {
		t.Errorf("--not-before 1h: iat %v nbf %v exp %v; want nbf = iat+1h, exp = nbf+24h", c.IssuedAt, c.NotBefore, c.Expiry)
	}
	if _, err := token.Verify(context.Background(), string(sec.Data["token"]), keys, token.Expect{Network: "Blue_Net"}); err == nil {
		t.Error("a token valid from in an hour verified now")
	}
}

func TestTokenSignErrors(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("XDG_CONFIG_HOME", dir)
	mustRun(t, "", "keys", "new", "--user", "alice")
	for _, tc := range []struct {
		name string
		args []string
		want []string
	}{
		{"zero ttl", []string{"--ttl", "0s"}, []string{"--ttl", "not positive"}},
		{"negative ttl", []string{"--ttl", "-1h"}, []string{"--ttl", "not positive"}},
		{"ttl not a duration", []string{"--ttl", "tomorrow"}, []string{"ttl", "tomorrow"}},
		{"bad not-before", []string{"--not-before", "soon"}, []string{"--not-before", "RFC 3339"}},
		{"bad output", []string{"-o", "xml"}, []string{"-o", "yaml, json or raw"}},
		{"bad name", []string{"--name", "Not_A_Name"}, []string{"--name", "Not_A_Name"}},
		{"missing key file", []string{"--user", "bob"}, []string{"bob.key", "--key", `switchboard keys new --user bob`}},
		{"key file is a public key", []string{"--key", filepath.Join(dir, "switchboard", "keys", "alice.pub")}, []string{"--key", `"PUBLIC KEY"`}},
		{"no network", []string{"--network", ""}, []string{"--network is required"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{"token", "sign", "--network", "blue", "--user", "alice"}, tc.args...)
			out, err := run(t, "", args...)
			if err == nil {
				t.Fatalf("succeeded, printed %q", out)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
}

func TestKeysNewRefusesOverwrite(t *testing.T) {
	dir := t.TempDir()
	mustRun(t, "", "keys", "new", "--user", "alice", "--dir", dir)
	before, _ := os.ReadFile(filepath.Join(dir, "alice.key"))
	_, err := run(t, "", "keys", "new", "--user", "alice", "--dir", dir)
	if err == nil || !strings.Contains(err.Error(), "--force") {
		t.Fatalf("second keys new: %v, want a refusal naming --force", err)
	}
	if after, _ := os.ReadFile(filepath.Join(dir, "alice.key")); !bytes.Equal(before, after) {
		t.Fatal("the refused keys new changed alice.key")
	}
	// Only the .pub left over still blocks: no half-replaced pair.
	os.Remove(filepath.Join(dir, "alice.key"))
	if _, err := run(t, "", "keys", "new", "--user", "alice", "--dir", dir); err == nil {
		t.Fatal("keys new replaced an existing alice.pub without --force")
	}
	mustRun(t, "", "keys", "new", "--user", "alice", "--dir", dir, "--force")
	after, _ := os.ReadFile(filepath.Join(dir, "alice.key"))
	if st, err := os.Stat(filepath.Join(dir, "alice.key")); bytes.Equal(before, after) || err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("--force: key unchanged or mode not 0600 (%v)", err)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 2 {
		t.Errorf("keys dir holds %d files after --force, want 2 (no temp files left)", len(entries))
	}
	for _, user := range []string{"", "../alice", ".hidden"} {
		if _, err := run(t, "", "keys", "new", "--user", user, "--dir", dir); err == nil || !strings.Contains(err.Error(), "--user") {
			t.Errorf("keys new --user %q: %v, want an error naming --user", user, err)
		}
	}
	if _, err := run(t, "", "keys", "new", "--user", "bob", "--dir", dir, "--alg", "rsa"); err == nil || !strings.Contains(err.Error(), "--alg") {
		t.Errorf("keys new --alg rsa: %v, want an error naming --alg", err)
	}
}

func TestDNSName(t *testing.T) {
	for in, want := range map[string]string{
		"blue-alice-token":                 "blue-alice-token",
		"Blue_Net-alice@example.org-token": "blue-net-alice-example-org-token",
		"--x--":                            "x",
		"---":                              "token",
		strings.Repeat("a", 300):           strings.Repeat("a", 253),
		strings.Repeat("a", 252) + "-b":    strings.Repeat("a", 252),
	} {
		if got := dnsName(in); got != want {
			t.Errorf("dnsName(%q) = %q, want %q", in, got, want)
		}
	}
}
