package netctl

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"switchboard/api/v1alpha1"
	"switchboard/internal/token"
)

// writeKeys writes USER.pub and USER.key for each user into dir and returns
// the public keys' canonical PEM by user.
func writeKeys(t *testing.T, dir string, users ...string) map[string]string {
	t.Helper()
	pems := map[string]string{}
	for _, u := range users {
		key, err := token.GenerateKey(token.AlgEd25519)
		if err != nil {
			t.Fatal(err)
		}
		pub, err := token.MarshalPublicKeyPEM(key.Public())
		if err != nil {
			t.Fatal(err)
		}
		priv, err := token.MarshalPrivateKeyPEM(key)
		if err != nil {
			t.Fatal(err)
		}
		// A trailing blank line and CRLFs, as an editor might leave them:
		// the spec holds the canonical form regardless.
		messy := strings.ReplaceAll(string(pub), "\n", "\r\n") + "\r\n"
		if err := os.WriteFile(filepath.Join(dir, u+".pub"), []byte(messy), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, u+".key"), priv, 0o600); err != nil {
			t.Fatal(err)
		}
		pems[u] = string(pub)
	}
	return pems
}

func extVNet(dir string, access ...string) Flags {
	for i, a := range access {
		access[i] = strings.ReplaceAll(a, "DIR", dir)
	}
	return Flags{Type: "ext-vnet", ProviderName: "idco", ProviderDomain: "idco.example:8443", AccessList: access}
}

func TestSpecAccessListPerContext(t *testing.T) {
	dir := t.TempDir()
	pems := writeKeys(t, dir, "alice", "bob", "carol")
	contexts := []string{"a", "b", "arn:aws:eks:eu-west-1:1:cluster/c"}
	f := extVNet(dir, "alice=DIR/alice.pub", "b:bob=DIR/bob.pub", "arn:aws:eks:eu-west-1:1:cluster/c:carol=DIR/carol.pub")
	s, err := f.Spec("blue", "team", contexts)
	if err != nil {
		t.Fatal(err)
	}
	users := func(ctx string) string {
		var out []string
		for _, e := range s.AccessList[ctx] {
			if e.PublicKey != pems[e.User] {
				t.Errorf("context %s user %s: public key %q, want the canonical PEM %q", ctx, e.User, e.PublicKey, pems[e.User])
			}
			out = append(out, e.User)
		}
		return strings.Join(out, ",")
	}
	for ctx, want := range map[string]string{"a": "alice", "b": "alice,bob", contexts[2]: "alice,carol"} {
		if got := users(ctx); got != want {
			t.Errorf("context %s: access list %q, want %q", ctx, got, want)
		}
	}
	if s.Provider == nil || s.Provider.Domain != "idco.example:8443" || s.Type != v1alpha1.ExtVNet {
		t.Errorf("spec %+v", s)
	}
}

func TestSpecErrors(t *testing.T) {
	dir := t.TempDir()
	writeKeys(t, dir, "alice")
	contexts := []string{"a", "b"}
	for _, tc := range []struct {
		name  string
		flags Flags
		want  []string // every one in the error
	}{
		{"no equals", extVNet(dir, "alice"), []string{`--access-list "alice"`, "USER=FILE", "CONTEXT:USER=FILE", "switchboard keys new"}},
		{"no file", extVNet(dir, "alice="), []string{`--access-list "alice="`, "USER=FILE"}},
		{"empty user", extVNet(dir, "a:=DIR/alice.pub"), []string{"the user is empty", "USER=FILE"}},
		{"unknown context", extVNet(dir, "c:alice=DIR/alice.pub"), []string{`--access-list "c:alice=`, `context "c" is not one of --contexts (a, b)`, "USER=FILE (every context)"}},
		{"twice in a context", extVNet(dir, "alice=DIR/alice.pub", "b:alice=DIR/alice.pub"), []string{`--access-list names user "alice" twice for context "b"`, "once per context"}},
		{"missing file", extVNet(dir, "alice=DIR/nope.pub"), []string{`--access-list "alice=`, "read public key", "no such file"}},
		{"private key", extVNet(dir, "alice=DIR/alice.key"), []string{"alice.key is not a public key", "USER.pub", "not the private key"}},
		{"vnet with access list", Flags{Type: "vnet", AccessList: []string{"alice=x"}}, []string{"--access-list are only for --type ext-vnet"}},
		{"ext-vnet without provider", Flags{Type: "ext-vnet"}, []string{"--type ext-vnet needs --provider-name and --provider-domain"}},
		{"provider domain without port", Flags{Type: "ext-vnet", ProviderName: "idco", ProviderDomain: "idco.example"}, []string{`--provider-domain "idco.example" is not HOST:PORT`}},
		{"unknown type", Flags{Type: "vlan"}, []string{`--type "vlan"`, "use vnet or ext-vnet"}},
		{"range syntax", Flags{Type: "vnet", CIDR: "10.50.0.0/24", Ranges: []string{"10.50.0.10"}}, []string{`--range "10.50.0.10" is not [CONTEXT:]START-END`}},
		{"gateway without cidr", Flags{Type: "vnet", Gateway: "10.50.0.1"}, []string{"--gateway and --range need --cidr"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := tc.flags.Spec("blue", "", contexts)
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
		})
	}
}

func TestCheckContexts(t *testing.T) {
	known := []string{"a", "b"}
	for _, tc := range []struct {
		contexts []string
		want     string
	}{
		{nil, "--contexts is empty and the kubeconfig has no current-context: name the kubeconfig context of each cluster, comma-separated, or one with --context (kc: it has a, b)"},
		{[]string{"a", "c"}, `context "c" is not in the kubeconfig (kc): it has a, b`},
		{[]string{"a", "a"}, `--contexts names "a" twice`},
	} {
		err := checkContexts(tc.contexts, known, "kc")
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("checkContexts(%q): %v, want %q", tc.contexts, err, tc.want)
		}
	}
	if err := checkContexts([]string{"b", "a"}, known, "kc"); err != nil {
		t.Errorf("checkContexts(b, a): %v", err)
	}
}

func TestRangesPerContext(t *testing.T) {
	f := Flags{Type: "vnet", CIDR: "10.200.0.0/24", Ranges: []string{"a:10.200.0.10-10.200.0.99", "b:10.200.0.100-10.200.0.199", "10.200.0.250-10.200.0.254"}}
	s, err := f.Spec("n", "ns", []string{"a", "b"})
	if err != nil {
		t.Fatal(err)
	}
	for ctx, want := range map[string]string{"a": "10.200.0.250 10.200.0.10", "b": "10.200.0.250 10.200.0.100"} {
		ipam := s.object(ctx, "ns").Object["spec"].(map[string]any)["ipam"].(map[string]any)
		var starts []string
		for _, r := range ipam["ranges"].([]any) {
			starts = append(starts, r.(map[string]any)["start"].(string))
		}
		if got := strings.Join(starts, " "); got != want {
			t.Errorf("context %s: range starts %q, want %q", ctx, got, want)
		}
	}
	f.Ranges = []string{"c:10.200.0.10-10.200.0.99"}
	if _, err := f.Spec("n", "ns", []string{"a", "b"}); err == nil || !strings.Contains(err.Error(), "contexts: a, b") {
		t.Errorf("a range for an unknown context: %v", err)
	}
}

// TestPickContexts: kubectl's conventions for choosing the clusters.
func TestPickContexts(t *testing.T) {
	for _, tc := range []struct {
		name     string
		cfg      Config
		current  string
		want     string
		wantErrs string
	}{
		{name: "--contexts", cfg: Config{Contexts: []string{"a", "b"}}, current: "a", want: "a,b"},
		{name: "--context", cfg: Config{Context: "b"}, current: "a", want: "b"},
		{name: "neither: the current context", current: "a", want: "a"},
		{name: "neither and no current context", want: ""},
		{name: "both", cfg: Config{Context: "a", Contexts: []string{"b"}}, wantErrs: "--context and --contexts are both given"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := pickContexts(tc.cfg, tc.current)
			if tc.wantErrs != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErrs) {
					t.Fatalf("error %v, want %q", err, tc.wantErrs)
				}
				return
			}
			if err != nil || strings.Join(got, ",") != tc.want {
				t.Errorf("pickContexts = %q, %v; want %q", got, err, tc.want)
			}
		})
	}
}
