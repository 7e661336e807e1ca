package main

import (
	"os/exec"
	"strings"
	"testing"
)

// forbidden are module paths the plugin binary must never link: it runs on
// every pod start, and the agent, not the plugin, talks to the API server.
var forbidden = []string{
	"k8s.io/client-go",
	"sigs.k8s.io/controller-runtime",
	"k8s.io/apimachinery",
	"k8s.io/api",
}

func TestPluginDoesNotImportKubernetesClients(t *testing.T) {
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("go command not found")
	}
	out, err := exec.Command(goBin, "list", "-deps", "-f", "{{if not .Standard}}{{.ImportPath}}{{end}}", "switchboard/cmd/switchboard-cni").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	deps := strings.Fields(string(out))
	t.Logf("non-standard dependencies of switchboard-cni:\n%s", strings.Join(deps, "\n"))
	for _, dep := range deps {
		for _, f := range forbidden {
			if dep == f || strings.HasPrefix(dep, f+"/") {
				t.Errorf("switchboard-cni depends on %s (under %s); the plugin must stay a thin shim over cnirpc", dep, f)
			}
		}
	}
}
