// Package pki makes the IDCO's certificates: a private CA, the server's
// certificate, and client certificates that name a cluster or an admin.
// Every key is ECDSA P-256. Files are PEM: ca.crt/ca.key and
// server.crt/server.key in the IDCO's directory; ca.crt, tls.crt and
// tls.key in each client's directory (the layout of a Kubernetes TLS
// Secret plus its CA).
package pki

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"time"
)

// Subject organizations that say what a client certificate may do.
const (
	OrgCluster = "switchboard-cluster"
	OrgAdmin   = "switchboard-admin"
)

// File names.
const (
	CAFile     = "ca.crt"
	CAKeyFile  = "ca.key"
	ServerCert = "server.crt"
	ServerKey  = "server.key"
	ClientCert = "tls.crt"
	ClientKey  = "tls.key"
)

// Validity of the certificates Init and Enrol make.
const (
	caValidity     = 10 * 365 * 24 * time.Hour
	leafValidity   = 2 * 365 * 24 * time.Hour
	clockSkewGrace = 5 * time.Minute
)

// Identity is who a client certificate names: a cluster or an admin.
type Identity struct {
	Cluster string // set for cluster certificates
	Admin   string // set for admin certificates
}

// String renders the identity as the audit log's actor: "cluster/NAME" or
// "admin/NAME".
func (id Identity) String() string {
	if id.Admin != "" {
		return "admin/" + id.Admin
	}
	return "cluster/" + id.Cluster
}

// IdentityOf reads the identity from a verified client certificate.
func IdentityOf(cert *x509.Certificate) (Identity, error) {
	cn := cert.Subject.CommonName
	if cn == "" {
		return Identity{}, errors.New("client certificate has no common name")
	}
	for _, o := range cert.Subject.Organization {
		switch o {
		case OrgAdmin:
			return Identity{Admin: cn}, nil
		case OrgCluster:
			return Identity{Cluster: cn}, nil
		}
	}
	return Identity{}, fmt.Errorf("client certificate %q has organization %q: want %s or %s", cn, cert.Subject.Organization, OrgCluster, OrgAdmin)
}

// Init makes a CA and a server certificate for hosts (IP addresses or DNS
// names) in dir. It refuses to overwrite an existing CA.
func Init(dir string, hosts []string) error {
	if _, err := os.Stat(filepath.Join(dir, CAKeyFile)); err == nil {
		return fmt.Errorf("%s already holds a CA: use another --dir or remove it", dir)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("create %s: %w", dir, err)
	}
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	now := time.Now()
	caTmpl := &x509.Certificate{
		SerialNumber:          serial(),
		Subject:               pkix.Name{CommonName: "switchboard-idco-ca", Organization: []string{"switchboard"}},
		NotBefore:             now.Add(-clockSkewGrace),
		NotAfter:              now.Add(caValidity),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        true,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		return fmt.Errorf("make CA certificate: %w", err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	if err := writeCertKey(dir, CAFile, CAKeyFile, caDER, caKey); err != nil {
		return err
	}
	tmpl := leafTemplate(pkix.Name{CommonName: "switchboard-idco"}, x509.ExtKeyUsageServerAuth)
	for _, h := range hosts {
		if ip := net.ParseIP(h); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, h)
		}
	}
	return issue(dir, ServerCert, ServerKey, tmpl, ca, caKey)
}

// Enrol issues a client certificate for id, signed by the CA in dir, and
// writes ca.crt, tls.crt and tls.key into out.
func Enrol(dir, out string, id Identity) error {
	var subject pkix.Name
	switch {
	case id.Cluster != "" && id.Admin == "":
		subject = pkix.Name{CommonName: id.Cluster, Organization: []string{OrgCluster}}
	case id.Admin != "" && id.Cluster == "":
		subject = pkix.Name{CommonName: id.Admin, Organization: []string{OrgAdmin}}
	default:
		return errors.New("enrol: name exactly one of a cluster or an admin")
	}
	ca, caKey, err := loadCA(dir)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(out, 0o700); err != nil {
		return fmt.Errorf("create %s: %w", out, err)
	}
	caPEM, err := os.ReadFile(filepath.Join(dir, CAFile))
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(out, CAFile), caPEM, 0o644); err != nil {
		return err
	}
	return issue(out, ClientCert, ClientKey, leafTemplate(subject, x509.ExtKeyUsageClientAuth), ca, caKey)
}

func leafTemplate(subject pkix.Name, usage x509.ExtKeyUsage) *x509.Certificate {
	now := time.Now()
	return &x509.Certificate{
		SerialNumber: serial(),
		Subject:      subject,
		NotBefore:    now.Add(-clockSkewGrace),
		NotAfter:     now.Add(leafValidity),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{usage},
	}
}

func issue(dir, certFile, keyFile string, tmpl, ca *x509.Certificate, caKey *ecdsa.PrivateKey) error {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		return fmt.Errorf("issue certificate %q: %w", tmpl.Subject.CommonName, err)
	}
	return writeCertKey(dir, certFile, keyFile, der, key)
}

func writeCertKey(dir, certFile, keyFile string, der []byte, key *ecdsa.PrivateKey) error {
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, keyFile), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		return fmt.Errorf("write %s: %w", keyFile, err)
	}
	if err := os.WriteFile(filepath.Join(dir, certFile), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		return fmt.Errorf("write %s: %w", certFile, err)
	}
	return nil
}

func loadCA(dir string) (*x509.Certificate, *ecdsa.PrivateKey, error) {
	pair, err := tls.LoadX509KeyPair(filepath.Join(dir, CAFile), filepath.Join(dir, CAKeyFile))
	if err != nil {
		return nil, nil, fmt.Errorf("load the CA from %s (run \"switchboard-idco init --dir %s\" first): %w", dir, dir, err)
	}
	key, ok := pair.PrivateKey.(*ecdsa.PrivateKey)
	if !ok {
		return nil, nil, fmt.Errorf("CA key in %s is %T, want ECDSA", dir, pair.PrivateKey)
	}
	ca, err := x509.ParseCertificate(pair.Certificate[0])
	return ca, key, err
}

func serial() *big.Int {
	n, _ := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	return n
}

// ServerTLS returns the server's TLS configuration from dir: its
// certificate, and client certificates verified against the CA when
// given. Handlers decide which routes need one.
func ServerTLS(dir string) (*tls.Config, error) {
	pair, err := tls.LoadX509KeyPair(filepath.Join(dir, ServerCert), filepath.Join(dir, ServerKey))
	if err != nil {
		return nil, fmt.Errorf("load the server certificate from %s: %w", dir, err)
	}
	pool, err := loadPool(filepath.Join(dir, CAFile))
	if err != nil {
		return nil, err
	}
	return &tls.Config{
		MinVersion:   tls.VersionTLS13,
		Certificates: []tls.Certificate{pair},
		ClientCAs:    pool,
		ClientAuth:   tls.VerifyClientCertIfGiven,
	}, nil
}

// ClientTLS returns a client TLS configuration from a directory holding
// ca.crt, tls.crt and tls.key (what Enrol writes).
func ClientTLS(dir string) (*tls.Config, error) {
	pair, err := tls.LoadX509KeyPair(filepath.Join(dir, ClientCert), filepath.Join(dir, ClientKey))
	if err != nil {
		return nil, fmt.Errorf("load the client certificate from %s (made by \"switchboard-idco enrol\"): %w", dir, err)
	}
	pool, err := loadPool(filepath.Join(dir, CAFile))
	if err != nil {
		return nil, err
	}
	return &tls.Config{MinVersion: tls.VersionTLS13, Certificates: []tls.Certificate{pair}, RootCAs: pool}, nil
}

func loadPool(path string) (*x509.CertPool, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read CA %s: %w", path, err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(b) {
		return nil, fmt.Errorf("CA file %s holds no PEM certificate", path)
	}
	return pool, nil
}
