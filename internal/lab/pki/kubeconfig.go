package pki

import (
	"encoding/base64"
	"fmt"
)

// Kubeconfig renders a kubeconfig with one cluster, one user and one context,
// all named name, with the certificates embedded.
func Kubeconfig(name, server string, caPEM []byte, user KeyPair) []byte {
	b64 := base64.StdEncoding.EncodeToString
	return fmt.Appendf(nil, `apiVersion: v1
kind: Config
clusters:
- name: %[1]s
  cluster:
    server: %[2]s
    certificate-authority-data: %[3]s
users:
- name: %[1]s
  user:
    client-certificate-data: %[4]s
    client-key-data: %[5]s
contexts:
- name: %[1]s
  context:
    cluster: %[1]s
    user: %[1]s
current-context: %[1]s
`, name, server, b64(caPEM), b64(user.Cert), b64(user.Key))
}
