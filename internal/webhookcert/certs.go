// Package webhookcert gives the operator's admission webhook its serving
// certificate without cert-manager: Rotator keeps a private CA and a
// serving certificate signed by it in a Secret, serves the certificate to
// the webhook server (GetCertificate), writes the CA into the caBundle of
// the webhook configurations, and renews both well before they expire.
//
// Renewal: a certificate is renewed once less than a third of its
// lifetime is left. A new CA is added to the caBundle next to the old
// one, which stays until it expires, so that a replica still serving a
// certificate of the old CA is trusted until it reloads the Secret.
package webhookcert

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

// keyPair is a certificate and its key, parsed and in PEM.
type keyPair struct {
	cert    *x509.Certificate
	certPEM []byte
	keyPEM  []byte
	key     *ecdsa.PrivateKey
}

// newCA makes a self-signed CA valid from now for validity.
func newCA(now time.Time, validity time.Duration) (*keyPair, error) {
	tmpl := &x509.Certificate{
		Subject:               pkix.Name{CommonName: "switchboard-webhook-ca"},
		NotBefore:             now.Add(-time.Minute),
		NotAfter:              now.Add(validity),
		IsCA:                  true,
		BasicConstraintsValid: true,
		MaxPathLenZero:        true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
	}
	return sign(tmpl, nil)
}

// newServing makes a serving certificate for names and ips, signed by ca,
// valid from now for validity (never past the CA).
func newServing(ca *keyPair, names []string, ips []net.IP, now time.Time, validity time.Duration) (*keyPair, error) {
	cn := "switchboard-webhook"
	if len(names) > 0 {
		cn = names[0]
	}
	tmpl := &x509.Certificate{
		Subject:     pkix.Name{CommonName: cn},
		DNSNames:    names,
		IPAddresses: ips,
		NotBefore:   now.Add(-time.Minute),
		NotAfter:    minTime(now.Add(validity), ca.cert.NotAfter),
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	return sign(tmpl, ca)
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

// sign makes a key and signs tmpl with parent (nil: self-signed).
func sign(tmpl *x509.Certificate, parent *keyPair) (*keyPair, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("generate key: %w", err)
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return nil, fmt.Errorf("generate serial: %w", err)
	}
	tmpl.SerialNumber = serial
	parentCert, parentKey := tmpl, key
	if parent != nil {
		parentCert, parentKey = parent.cert, parent.key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parentCert, &key.PublicKey, parentKey)
	if err != nil {
		return nil, fmt.Errorf("sign certificate %s: %w", tmpl.Subject.CommonName, err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return nil, fmt.Errorf("marshal key: %w", err)
	}
	return parsePair(
		pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}))
}

// parsePair parses a PEM certificate and its EC key.
func parsePair(certPEM, keyPEM []byte) (*keyPair, error) {
	cert, err := parseCert(certPEM)
	if err != nil {
		return nil, err
	}
	b, _ := pem.Decode(keyPEM)
	if b == nil {
		return nil, errors.New("key: no PEM block")
	}
	key, err := x509.ParseECPrivateKey(b.Bytes)
	if err != nil {
		return nil, fmt.Errorf("key: %w", err)
	}
	if !key.PublicKey.Equal(cert.PublicKey) {
		return nil, errors.New("key does not match the certificate")
	}
	return &keyPair{cert: cert, certPEM: certPEM, keyPEM: keyPEM, key: key}, nil
}

func parseCert(certPEM []byte) (*x509.Certificate, error) {
	b, _ := pem.Decode(certPEM)
	if b == nil || b.Type != "CERTIFICATE" {
		return nil, errors.New("certificate: no PEM CERTIFICATE block")
	}
	return x509.ParseCertificate(b.Bytes)
}

// fresh reports whether c still has at least a third of its lifetime
// left at now.
func fresh(c *x509.Certificate, now time.Time) bool {
	life := c.NotAfter.Sub(c.NotBefore)
	return now.After(c.NotBefore) && c.NotAfter.Sub(now) > life/3
}

// covers reports whether serving certificate c is signed by ca and names
// every one of names and ips.
func covers(c *x509.Certificate, ca *x509.Certificate, names []string, ips []net.IP) bool {
	if c.CheckSignatureFrom(ca) != nil {
		return false
	}
	for _, n := range names {
		if c.VerifyHostname(n) != nil {
			return false
		}
	}
	for _, ip := range ips {
		if c.VerifyHostname(ip.String()) != nil {
			return false
		}
	}
	return true
}
