package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/yaml"

	"switchboard/internal/apiservertest"
)

func TestInvokedAs(t *testing.T) {
	for argv0, plugin := range map[string]bool{
		"switchboard":                         false,
		"./bin/switchboard":                   false,
		"/usr/local/bin/kubectl-switchboard":  true, // as kubectl execs it
		"kubectl-switchboard":                 true,
		`C:\bin\kubectl-switchboard.exe`:      false, // not a path on Linux: the base is the whole string
		"kubectl-switchboard.exe":             true,
		"/home/u/.krew/bin/kubectl-switchbrd": false,
		"kubectl-switchboard-dev":             false,
	} {
		if got := invokedAs(argv0).plugin; got != plugin {
			t.Errorf("invokedAs(%q).plugin = %v, want %v", argv0, got, plugin)
		}
	}
}

// runAs runs the command tree as inv would, with separate stdout and stderr.
func runAs(inv invocation, args ...string) (stdout, stderr string, err error) {
	root := rootCommand(inv)
	var out, errOut bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&errOut)
	root.SetArgs(args)
	err = root.ExecuteContext(context.Background())
	return out.String(), errOut.String(), err
}

func TestPluginHelpSaysKubectlSwitchboard(t *testing.T) {
	plugin := invocation{plugin: true}
	out, _, err := runAs(plugin, "network", "topology", "--help")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"kubectl switchboard network topology NAME", "  kubectl switchboard network topology sample-inter-network --contexts a,b"} {
		if !strings.Contains(out, want) {
			t.Errorf("help lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "\n  switchboard ") {
		t.Errorf("plugin help still says plain switchboard:\n%s", out)
	}
	out, _, _ = runAs(invocation{}, "network", "topology", "--help")
	if !strings.Contains(out, "\n  switchboard network topology sample-inter-network") {
		t.Errorf("standalone help:\n%s", out)
	}
}

func TestPluginLabSaysLocalOnly(t *testing.T) {
	out, _, _ := runAs(invocation{plugin: true}, "--help")
	if !strings.Contains(out, "Local lab only, not your kubeconfig's clusters") {
		t.Errorf("plugin help does not mark lab as local-only:\n%s", out)
	}
	_, stderr, _ := runAs(invocation{plugin: true}, "lab", "status", "--name", "sbtp-none", "--dir", t.TempDir())
	if !strings.Contains(stderr, `note: "kubectl switchboard lab status" acts on the local lab, not on the clusters of your kubeconfig`) {
		t.Errorf("lab status as plugin: stderr %q", stderr)
	}
	out, _, _ = runAs(invocation{}, "--help")
	if strings.Contains(out, "Local lab only") {
		t.Errorf("standalone help marks lab as local-only:\n%s", out)
	}
}

// kubeconfigWithCurrent writes a kubeconfig with contexts a and b (servers
// on a closed port) and current-context current.
func kubeconfigWithCurrent(t *testing.T, current string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "kubeconfig")
	nowhere := &rest.Config{Host: "https://127.0.0.1:1"}
	if err := apiservertest.WriteKubeconfig(path, map[string]*rest.Config{"a": nowhere, "b": nowhere}); err != nil {
		t.Fatal(err)
	}
	kc, err := clientcmd.LoadFromFile(path)
	if err != nil {
		t.Fatal(err)
	}
	kc.CurrentContext = current
	if err := clientcmd.WriteToFile(*kc, path); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestKubectlConventions: --context, the current context, KUBECONFIG and
// -A as kubectl takes them, in both invocations.
func TestKubectlConventions(t *testing.T) {
	kc := kubeconfigWithCurrent(t, "b")
	for _, inv := range []invocation{{}, {plugin: true}} {
		t.Run(inv.name(), func(t *testing.T) {
			// The current context: the error line names b, never a.
			out, _, err := runAs(inv, "network", "list", "--kubeconfig", kc)
			if err == nil || !strings.Contains(out, "error: context b: ") || strings.Contains(out, "context a") {
				t.Errorf("network list without --context: %v\n%s", err, out)
			}
			out, _, err = runAs(inv, "network", "list", "--kubeconfig", kc, "--context", "a")
			if err == nil || !strings.Contains(out, "error: context a: ") {
				t.Errorf("network list --context a: %v\n%s", err, out)
			}
			t.Setenv("KUBECONFIG", kc)
			_, _, err = runAs(inv, "network", "topology", "blue", "--context", "z")
			if err == nil || !strings.Contains(err.Error(), `context "z" is not in the kubeconfig (`+kc+`): it has a, b`) {
				t.Errorf("KUBECONFIG is not read: %v", err)
			}
		})
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"network", "list", "--context", "a", "--contexts", "a,b"}, "--context and --contexts are both given"},
		{[]string{"network", "list", "-A", "-n", "team"}, "-A (every namespace) and -n team are both given"},
		{[]string{"network", "topology", "blue", "-o", "png"}, `-o "png" is not an output format: use text, dot or svg`},
		{[]string{"network", "topology"}, "accepts 1 arg(s), received 0"},
	} {
		_, _, err := runAs(invocation{plugin: true}, append(tc.args, "--kubeconfig", kc)...)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want %q", strings.Join(tc.args, " "), err, tc.want)
		}
	}
}

// TestKrewManifest checks plugins/switchboard.yaml: the fields krew needs,
// the binary it installs under the name kubectl runs, and well-formed
// placeholders for what the release fills in (uri, sha256).
func TestKrewManifest(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("..", "..", "plugins", "switchboard.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var m struct {
		APIVersion string `json:"apiVersion"`
		Kind       string `json:"kind"`
		Metadata   struct {
			Name string `json:"name"`
		} `json:"metadata"`
		Spec struct {
			Version          string `json:"version"`
			Homepage         string `json:"homepage"`
			ShortDescription string `json:"shortDescription"`
			Description      string `json:"description"`
			Caveats          string `json:"caveats"`
			Platforms        []struct {
				Selector struct {
					MatchLabels map[string]string `json:"matchLabels"`
				} `json:"selector"`
				URI    string `json:"uri"`
				SHA256 string `json:"sha256"`
				Bin    string `json:"bin"`
				Files  []struct {
					From string `json:"from"`
					To   string `json:"to"`
				} `json:"files"`
			} `json:"platforms"`
		} `json:"spec"`
	}
	if err := yaml.UnmarshalStrict(data, &m); err != nil {
		t.Fatalf("plugins/switchboard.yaml: %v", err)
	}
	if m.APIVersion != "krew.googlecontainertools.github.com/v1alpha2" || m.Kind != "Plugin" || m.Metadata.Name != "switchboard" {
		t.Errorf("header: %s %s %s", m.APIVersion, m.Kind, m.Metadata.Name)
	}
	if !regexp.MustCompile(`^v\d+\.\d+\.\d+$`).MatchString(m.Spec.Version) || m.Spec.Homepage == "" || m.Spec.ShortDescription == "" {
		t.Errorf("spec: version %q, homepage %q, shortDescription %q", m.Spec.Version, m.Spec.Homepage, m.Spec.ShortDescription)
	}
	if len(m.Spec.Platforms) == 0 {
		t.Fatal("no platforms")
	}
	hex64 := regexp.MustCompile(`^[0-9a-f]{64}$`)
	for _, p := range m.Spec.Platforms {
		name := p.Selector.MatchLabels["os"] + "/" + p.Selector.MatchLabels["arch"]
		if !strings.HasPrefix(p.URI, "https://") || !strings.HasSuffix(p.URI, ".tar.gz") || !hex64.MatchString(p.SHA256) {
			t.Errorf("%s: uri %q, sha256 %q", name, p.URI, p.SHA256)
		}
		if p.Bin != pluginBinary || len(p.Files) == 0 || p.Files[0].From != "switchboard" || p.Files[0].To != pluginBinary {
			t.Errorf("%s: bin %q, files %+v: want switchboard installed as %s", name, p.Bin, p.Files, pluginBinary)
		}
	}
}
