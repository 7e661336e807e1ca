package intercluster

import (
	"errors"
	"path/filepath"
	"testing"

	"switchboard/api/v1alpha1"
	"switchboard/internal/idco/pki"
)

// certsFor writes a cluster client certificate for cluster "a" into dir,
// as "switchboard-idco enrol" does.
func certsFor(t *testing.T, dir string) {
	t.Helper()
	ca := filepath.Join(t.TempDir(), "ca")
	if err := pki.Init(ca, []string{"127.0.0.1"}); err != nil {
		t.Fatal(err)
	}
	if err := pki.Enrol(ca, dir, pki.Identity{Cluster: "a"}); err != nil {
		t.Fatal(err)
	}
}

// reasonOf returns the condition reason an error carries, or "".
func reasonOf(err error) string {
	var c *ConditionError
	if errors.As(err, &c) {
		return c.Reason
	}
	return ""
}

// TestProviderNameStaysInCertDir: a provider's certificates come from
// <certDir>/<name> only, and only for a name that is a DNS label; names
// that would reach elsewhere ("../x", "a/b", "..") load nothing, even
// where valid certificates lie at the place they point to.
func TestProviderNameStaysInCertDir(t *testing.T) {
	root := t.TempDir()
	certDir := filepath.Join(root, "certs")
	certsFor(t, filepath.Join(certDir, "idco"))
	certsFor(t, filepath.Join(root, "outside"))
	certsFor(t, filepath.Join(certDir, "nested", "x"))
	r, err := NewRegistrar("a", "a-node1", certDir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.Client(&v1alpha1.Provider{Name: "idco", Domain: "127.0.0.1:8443"}); err != nil {
		t.Fatalf("provider idco with certificates in %s: %v", certDir, err)
	}
	for _, name := range []string{"../outside", "nested/x", "..", ".", "/outside", "Idco", "idco.", "-idco", "", "x\x00"} {
		c, err := r.Client(&v1alpha1.Provider{Name: name, Domain: "127.0.0.1:8443"})
		if err == nil || c != nil {
			t.Errorf("provider name %q: got a client, want a refusal", name)
			continue
		}
		if got := reasonOf(err); got != v1alpha1.ReasonInvalidSpec {
			t.Errorf("provider name %q: %v (reason %q), want reason %s", name, err, got, v1alpha1.ReasonInvalidSpec)
		}
	}
	if got := len(r.inUse()); got != 1 {
		t.Errorf("%d clients cached, want 1 (idco's)", got)
	}
}

func TestAllowlist(t *testing.T) {
	a, err := ParseAllowlist(" idco, lab=198.18.0.1:8443 ,lab=198.18.0.2:8443,")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		p    v1alpha1.Provider
		want bool
	}{
		{v1alpha1.Provider{Name: "idco", Domain: "anywhere:1"}, true},
		{v1alpha1.Provider{Name: "lab", Domain: "198.18.0.1:8443"}, true},
		{v1alpha1.Provider{Name: "lab", Domain: "198.18.0.2:8443"}, true},
		{v1alpha1.Provider{Name: "lab", Domain: "198.18.0.3:8443"}, false},
		{v1alpha1.Provider{Name: "other", Domain: "198.18.0.1:8443"}, false},
	} {
		if got := a.allows(c.p); got != c.want {
			t.Errorf("allows(%+v) = %v, want %v", c.p, got, c.want)
		}
	}
	if got, want := a.String(), "idco,lab=198.18.0.1:8443,lab=198.18.0.2:8443"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
	if none, err := ParseAllowlist(""); err != nil || none != nil || !none.allows(v1alpha1.Provider{Name: "any", Domain: "x:1"}) {
		t.Errorf(`ParseAllowlist("") = %v, %v; want nil, allowing every provider`, none, err)
	}
	for _, bad := range []string{"../x", "lab=", "UPPER"} {
		if _, err := ParseAllowlist(bad); err == nil {
			t.Errorf("ParseAllowlist(%q) succeeded, want an error", bad)
		}
	}

	certDir := t.TempDir()
	certsFor(t, filepath.Join(certDir, "other"))
	r, err := NewRegistrar("a", "a-node1", certDir, WithAllowlist(a))
	if err != nil {
		t.Fatal(err)
	}
	_, err = r.Client(&v1alpha1.Provider{Name: "other", Domain: "127.0.0.1:8443"})
	if got := reasonOf(err); got != v1alpha1.ReasonProviderNotAllowed {
		t.Errorf("a provider the allow-list leaves out: %v (reason %q), want reason %s", err, got, v1alpha1.ReasonProviderNotAllowed)
	}
}
