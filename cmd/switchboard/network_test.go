package main

import (
	"path/filepath"
	"strings"
	"testing"

	"k8s.io/client-go/rest"

	"switchboard/internal/apiservertest"
)

// offlineKubeconfig writes a kubeconfig with contexts a and b whose servers
// do not exist: enough for the commands' flag handling and --dry-run, which
// contact no cluster.
func offlineKubeconfig(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "kubeconfig")
	nowhere := &rest.Config{Host: "https://127.0.0.1:1"}
	if err := apiservertest.WriteKubeconfig(path, map[string]*rest.Config{"a": nowhere, "b": nowhere}); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestNetworkCreateFlags(t *testing.T) {
	kc := offlineKubeconfig(t)
	dir := t.TempDir()
	mustRun(t, "", "keys", "new", "--user", "alice", "--dir", dir)
	pub := filepath.Join(dir, "alice.pub")
	base := []string{"network", "create", "blue", "--kubeconfig", kc, "--contexts", "a,b", "-n", "team"}
	with := func(args []string, more ...string) []string { return append(append([]string{}, args...), more...) }
	ext := with(base, "--type", "ext-vnet", "--provider-name", "idco", "--provider-domain", "idco.example:8443")
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"access list without key file", with(ext, "--access-list", "alice"), `--access-list "alice": write USER=FILE (every context) or CONTEXT:USER=FILE`},
		{"access list for an unlisted context", with(ext, "--access-list", "c:alice="+pub), `context "c" is not one of --contexts (a, b)`},
		{"access list with the private key", with(ext, "--access-list", "alice="+filepath.Join(dir, "alice.key")), `alice.key is not a public key`},
		{"ext-vnet without provider", with(base, "--type", "ext-vnet"), "--type ext-vnet needs --provider-name and --provider-domain"},
		{"unknown context", []string{"network", "create", "blue", "--kubeconfig", kc, "--contexts", "a,z", "--dry-run"}, `context "z" is not in the kubeconfig (` + kc + `): it has a, b`},
		{"no contexts", []string{"network", "create", "blue", "--kubeconfig", kc}, "--contexts is empty"},
		{"no name", []string{"network", "create", "--kubeconfig", kc, "--contexts", "a"}, "accepts 1 arg(s), received 0"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, err := run(t, "", tc.args...)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("switchboard %s: error %v, want %q\n%s", strings.Join(tc.args, " "), err, tc.want, out)
			}
		})
	}

	out := mustRun(t, "", with(ext, "--cidr", "10.50.0.0/24", "--access-list", "b:alice="+pub, "--dry-run")...)
	docs := strings.Split(out, "\n---\n")
	if len(docs) != 2 || !strings.Contains(docs[0], "# context a\n") || strings.Contains(docs[0], "accessList") ||
		!strings.Contains(docs[1], "# context b\n") || !strings.Contains(docs[1], "user: alice") || !strings.Contains(docs[1], "cidr: 10.50.0.0/24") {
		t.Errorf("dry run: want a document per context, alice in b only:\n%s", out)
	}
}

func TestNetworkStatusOutputFlag(t *testing.T) {
	_, err := run(t, "", "network", "status", "blue", "--kubeconfig", offlineKubeconfig(t), "--contexts", "a", "-o", "yaml")
	if err == nil || !strings.Contains(err.Error(), `-o "yaml" is not an output format: use table or json`) {
		t.Errorf("error %v", err)
	}
}
