package pki

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"net"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"
)

func TestIssueVerifiesAgainstCA(t *testing.T) {
	ca, err := NewCA("lab-a")
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(ca.CertPEM()) {
		t.Fatal("CA PEM not parseable")
	}
	tests := []struct {
		name  string
		spec  Spec
		usage x509.ExtKeyUsage
		dns   string
	}{
		{"server", Spec{CommonName: "kube-apiserver", DNSNames: []string{"kubernetes.default"}, IPs: []net.IP{net.ParseIP("198.18.0.1")}, Usage: Server}, x509.ExtKeyUsageServerAuth, "kubernetes.default"},
		{"client", Spec{CommonName: "admin", Organizations: []string{"system:masters"}, Usage: Client}, x509.ExtKeyUsageClientAuth, ""},
		{"both", Spec{CommonName: "system:node:a-node1", Organizations: []string{"system:nodes"}, Usage: ClientServer}, x509.ExtKeyUsageClientAuth, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			kp, err := ca.Issue(tt.spec)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := tls.X509KeyPair(kp.Cert, kp.Key); err != nil {
				t.Fatalf("cert and key do not match: %v", err)
			}
			block, _ := pem.Decode(kp.Cert)
			cert, err := x509.ParseCertificate(block.Bytes)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := cert.Verify(x509.VerifyOptions{Roots: pool, DNSName: tt.dns, KeyUsages: []x509.ExtKeyUsage{tt.usage}}); err != nil {
				t.Fatalf("verify: %v", err)
			}
			if cert.Subject.CommonName != tt.spec.CommonName || strings.Join(cert.Subject.Organization, ",") != strings.Join(tt.spec.Organizations, ",") {
				t.Fatalf("subject %v, want CN=%s O=%v", cert.Subject, tt.spec.CommonName, tt.spec.Organizations)
			}
		})
	}
}

func TestIssueRejectsBadSpec(t *testing.T) {
	ca, err := NewCA("lab")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ca.Issue(Spec{}); err == nil || !strings.Contains(err.Error(), "common name") {
		t.Fatalf("empty CN: got %v", err)
	}
	if _, err := ca.Issue(Spec{CommonName: "x", Usage: Usage(9)}); err == nil || !strings.Contains(err.Error(), "usage") {
		t.Fatalf("bad usage: got %v", err)
	}
}

func TestLoadCARoundTrip(t *testing.T) {
	ca, err := NewCA("lab")
	if err != nil {
		t.Fatal(err)
	}
	kp, err := ca.KeyPair()
	if err != nil {
		t.Fatal(err)
	}
	again, err := LoadCA(kp)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := again.Issue(Spec{CommonName: "x", Usage: Client})
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(ca.CertPEM())
	block, _ := pem.Decode(leaf.Cert)
	cert, _ := x509.ParseCertificate(block.Bytes)
	if _, err := cert.Verify(x509.VerifyOptions{Roots: pool, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err != nil {
		t.Fatalf("leaf of reloaded CA does not verify against the original: %v", err)
	}
	if _, err := LoadCA(KeyPair{Cert: []byte("junk")}); err == nil {
		t.Fatal("LoadCA accepted junk")
	}
}

func TestKubeconfigParses(t *testing.T) {
	ca, _ := NewCA("lab")
	user, _ := ca.Issue(Spec{CommonName: "admin", Usage: Client})
	var kc struct {
		Clusters []struct {
			Cluster struct {
				Server string `json:"server"`
			} `json:"cluster"`
		} `json:"clusters"`
		CurrentContext string `json:"current-context"`
	}
	if err := yaml.Unmarshal(Kubeconfig("a", "https://198.18.0.1:6443", ca.CertPEM(), user), &kc); err != nil {
		t.Fatal(err)
	}
	if len(kc.Clusters) != 1 || kc.Clusters[0].Cluster.Server != "https://198.18.0.1:6443" || kc.CurrentContext != "a" {
		t.Fatalf("unexpected kubeconfig: %+v", kc)
	}
}
