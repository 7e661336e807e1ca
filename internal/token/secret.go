package token

import (
	"errors"
	"strings"
)

// The layout of the Kubernetes Secret that carries a token. The CLI writes
// it; the operator reads it from the Secret a pod names in AnnotationSecret.
const (
	SecretType       = "switchboard.dev/token"        // Secret .type
	SecretKeyToken   = "token"                        // data key: the compact JWS
	SecretKeyUser    = "user"                         // data key: the user who signed it
	SecretKeySeed    = "public-key.pem"               // data key of seed 000's Secret, read as the token too
	LabelNetwork     = "switchboard.dev/network"      // Secret label: the network the token is for
	AnnotationSecret = "switchboard.dev/token-secret" // pod annotation: name of the Secret in the pod's namespace
)

// FromSecretData returns the token in a Secret's data: the SecretKeyToken
// entry, or else the SecretKeySeed entry that seed 000's Secrets use, with
// surrounding white space removed. It does not check the token.
func FromSecretData(data map[string][]byte) (string, error) {
	for _, k := range []string{SecretKeyToken, SecretKeySeed} {
		if v, ok := data[k]; ok {
			if t := strings.TrimSpace(string(v)); t != "" {
				return t, nil
			}
		}
	}
	return "", errors.New(`secret has no token: put it under data key "token" (switchboard token sign does)`)
}
