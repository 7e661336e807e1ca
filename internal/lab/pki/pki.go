// Package pki issues the certificates, keys and kubeconfigs of a lab cluster:
// one CA per cluster, serving certificates for its API server, client
// certificates for its components and users, and the service-account key.
//
// Keys are ECDSA P-256; everything is PEM. Nothing here touches the disk:
// callers decide where the bytes go.
package pki

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"time"
)

// Validity is how long issued certificates and the CA stay valid.
const Validity = 365 * 24 * time.Hour

// CA is a certificate authority. It is safe for concurrent use.
type CA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	pem  []byte
}

// Usage says what a leaf certificate is for.
type Usage int

const (
	// Client certificates authenticate to a server (CN is the user, O the groups).
	Client Usage = iota
	// Server certificates are presented by a server for its DNSNames and IPs.
	Server
	// ClientServer certificates do both (the kubelet, etcd peers).
	ClientServer
)

// Spec describes a leaf certificate.
type Spec struct {
	CommonName    string
	Organizations []string
	DNSNames      []string
	IPs           []net.IP
	Usage         Usage
}

// KeyPair is a PEM certificate and its PEM private key.
type KeyPair struct {
	Cert []byte
	Key  []byte
}

// NewCA makes a self-signed CA named commonName.
func NewCA(commonName string) (*CA, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("generate CA key: %w", err)
	}
	tmpl, err := template(commonName, nil)
	if err != nil {
		return nil, err
	}
	tmpl.IsCA = true
	tmpl.BasicConstraintsValid = true
	tmpl.KeyUsage = x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, fmt.Errorf("create CA certificate %q: %w", commonName, err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("parse CA certificate: %w", err)
	}
	return &CA{cert: cert, key: key, pem: encode("CERTIFICATE", der)}, nil
}

// LoadCA reads a CA written earlier with KeyPair.
func LoadCA(kp KeyPair) (*CA, error) {
	cb, _ := pem.Decode(kp.Cert)
	if cb == nil {
		return nil, errors.New("load CA: no PEM certificate")
	}
	cert, err := x509.ParseCertificate(cb.Bytes)
	if err != nil {
		return nil, fmt.Errorf("load CA certificate: %w", err)
	}
	key, err := parseKey(kp.Key)
	if err != nil {
		return nil, fmt.Errorf("load CA key: %w", err)
	}
	return &CA{cert: cert, key: key, pem: kp.Cert}, nil
}

// CertPEM returns the CA certificate. The caller must not modify it.
func (ca *CA) CertPEM() []byte { return ca.pem }

// KeyPair returns the CA certificate and key, to be written to disk for
// components that sign (the controller-manager's CSR signer).
func (ca *CA) KeyPair() (KeyPair, error) {
	der, err := x509.MarshalECPrivateKey(ca.key)
	if err != nil {
		return KeyPair{}, fmt.Errorf("marshal CA key: %w", err)
	}
	return KeyPair{Cert: ca.pem, Key: encode("EC PRIVATE KEY", der)}, nil
}

// Issue signs a new leaf certificate with a fresh key.
func (ca *CA) Issue(s Spec) (KeyPair, error) {
	if s.CommonName == "" {
		return KeyPair{}, errors.New("issue certificate: empty common name")
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return KeyPair{}, fmt.Errorf("generate key for %q: %w", s.CommonName, err)
	}
	tmpl, err := template(s.CommonName, s.Organizations)
	if err != nil {
		return KeyPair{}, err
	}
	tmpl.KeyUsage = x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment
	switch s.Usage {
	case Client:
		tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}
	case Server:
		tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
	case ClientServer:
		tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth, x509.ExtKeyUsageServerAuth}
	default:
		return KeyPair{}, fmt.Errorf("issue certificate %q: unknown usage %d", s.CommonName, s.Usage)
	}
	tmpl.DNSNames = s.DNSNames
	tmpl.IPAddresses = s.IPs
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		return KeyPair{}, fmt.Errorf("sign certificate %q: %w", s.CommonName, err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return KeyPair{}, fmt.Errorf("marshal key for %q: %w", s.CommonName, err)
	}
	return KeyPair{Cert: encode("CERTIFICATE", der), Key: encode("EC PRIVATE KEY", kder)}, nil
}

// NewServiceAccountKey returns a key pair for signing service-account tokens:
// the public key (PKIX PEM) and the private key (EC PEM).
func NewServiceAccountKey() (pub, priv []byte, err error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, fmt.Errorf("generate service-account key: %w", err)
	}
	pder, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		return nil, nil, fmt.Errorf("marshal service-account public key: %w", err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return nil, nil, fmt.Errorf("marshal service-account key: %w", err)
	}
	return encode("PUBLIC KEY", pder), encode("EC PRIVATE KEY", kder), nil
}

func template(cn string, orgs []string) (*x509.Certificate, error) {
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	if err != nil {
		return nil, fmt.Errorf("generate serial: %w", err)
	}
	now := time.Now()
	return &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: cn, Organization: orgs},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(Validity),
	}, nil
}

func parseKey(b []byte) (*ecdsa.PrivateKey, error) {
	block, _ := pem.Decode(b)
	if block == nil {
		return nil, errors.New("no PEM key")
	}
	return x509.ParseECPrivateKey(block.Bytes)
}

func encode(typ string, der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der})
}
