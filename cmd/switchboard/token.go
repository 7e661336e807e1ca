package main

import (
	"crypto"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation"
	"sigs.k8s.io/yaml"

	"switchboard/internal/token"
)

func tokenCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "token",
		Short: "Sign and inspect join tokens for inter-cluster networks",
	}
	cmd.AddCommand(tokenSignCommand(), tokenInspectCommand())
	return cmd
}

type signOptions struct {
	network, user, key      string
	ttl                     time.Duration
	notBefore               string
	clusters                []string
	name, namespace, output string
}

func tokenSignCommand() *cobra.Command {
	var o signOptions
	cmd := &cobra.Command{
		Use:   "sign --network NETWORK --user USER",
		Short: "Sign a join token with your private key and print it as a Secret for kubectl apply",
		Long: `Sign a join token with your private key and print it as a Kubernetes Secret:

  switchboard token sign --network blue --user alice | kubectl apply -f -

then name the Secret in the pod's ` + token.AnnotationSecret + ` annotation.
The token is valid from --not-before (default now) for --ttl.`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			return tokenSign(c, o, time.Now())
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.network, "network", "", "network the token admits to (required)")
	f.StringVar(&o.user, "user", "", "user signing, as on the network's access list (required)")
	f.StringVar(&o.key, "key", "", "private key file (default USER.key in the keys directory of \"switchboard keys new\")")
	f.DurationVar(&o.ttl, "ttl", 24*time.Hour, "how long the token is valid, from --not-before or now")
	f.StringVar(&o.notBefore, "not-before", "", "when the token starts being valid: RFC 3339 time (2026-05-01T12:00:00Z) or a duration from now (2h)")
	f.StringSliceVar(&o.clusters, "clusters", nil, "clusters where the token may be used, comma-separated (default any)")
	f.StringVar(&o.name, "name", "", "Secret name (default NETWORK-USER-token, made a valid DNS-1123 name)")
	f.StringVarP(&o.namespace, "namespace", "n", "", "Secret namespace (default: none in the output, so kubectl uses its current namespace)")
	f.StringVarP(&o.output, "output", "o", "yaml", "output: yaml or json (a Secret), or raw (just the token)")
	return cmd
}

func tokenSign(c *cobra.Command, o signOptions, now time.Time) error {
	if o.network == "" {
		return errors.New("--network is required: name the network the token admits to")
	}
	if err := checkUser(o.user); err != nil {
		return err
	}
	if o.ttl <= 0 {
		return fmt.Errorf("--ttl %s is not positive: give how long the token is valid, e.g. --ttl 24h", o.ttl)
	}
	if o.output != "yaml" && o.output != "json" && o.output != "raw" {
		return fmt.Errorf("-o %q is not an output format: use yaml, json or raw", o.output)
	}
	now = now.Truncate(time.Second)
	claims := token.Claims{Network: o.network, User: o.user, IssuedAt: now, Clusters: o.clusters}
	start := now
	if o.notBefore != "" {
		nbf, err := parseNotBefore(o.notBefore, now)
		if err != nil {
			return err
		}
		claims.NotBefore, start = nbf, nbf
	}
	claims.Expiry = start.Add(o.ttl)
	key, err := loadPrivateKey(o.key, o.user)
	if err != nil {
		return err
	}
	raw, err := token.Sign(claims, key)
	if err != nil {
		return err
	}
	out := c.OutOrStdout()
	if o.output == "raw" {
		_, err := fmt.Fprintln(out, raw)
		return err
	}
	sec, err := tokenSecret(o, raw)
	if err != nil {
		return err
	}
	var b []byte
	if o.output == "json" {
		b, err = json.MarshalIndent(sec, "", "  ")
		b = append(b, '\n')
	} else {
		b, err = yaml.Marshal(sec)
	}
	if err != nil {
		return fmt.Errorf("encode Secret: %w", err)
	}
	_, err = out.Write(b)
	return err
}

func parseNotBefore(s string, now time.Time) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	if d, err := time.ParseDuration(strings.TrimPrefix(s, "+")); err == nil && d >= 0 {
		return now.Add(d), nil
	}
	return time.Time{}, fmt.Errorf("--not-before %q is neither an RFC 3339 time (2026-05-01T12:00:00Z) nor a duration from now (2h)", s)
}

func loadPrivateKey(path, user string) (crypto.Signer, error) {
	if path == "" {
		dir, err := defaultKeysDir()
		if err != nil {
			return nil, fmt.Errorf("--key not given and %w", err)
		}
		path, _ = keyPaths(dir, user)
	}
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("read private key %s: no such file: pass --key FILE, or make one with \"switchboard keys new --user %s\"", path, user)
	}
	if err != nil {
		return nil, fmt.Errorf("read private key %s: %w", path, err)
	}
	key, err := token.ParsePrivateKeyPEM(data)
	if err != nil {
		return nil, fmt.Errorf("--key %s: %w", path, err)
	}
	return key, nil
}

// tokenSecret builds the Secret that carries raw. It uses data rather than
// stringData: what kubectl apply sends is then exactly what the API server
// stores and what "kubectl get -o yaml" shows (stringData is write-only and
// is merged into data), so "token inspect" reads both the same way.
func tokenSecret(o signOptions, raw string) (*corev1.Secret, error) {
	name := o.name
	if name == "" {
		name = dnsName(o.network + "-" + o.user + "-token")
	} else if errs := validation.IsDNS1123Subdomain(name); len(errs) > 0 {
		return nil, fmt.Errorf("--name %q is not a valid Secret name: %s", name, strings.Join(errs, "; "))
	}
	if errs := validation.IsValidLabelValue(o.network); len(errs) > 0 {
		return nil, fmt.Errorf("--network %q cannot be the %s label: %s", o.network, token.LabelNetwork, strings.Join(errs, "; "))
	}
	return &corev1.Secret{
		TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Secret"},
		ObjectMeta: metav1.ObjectMeta{
			Name:      name,
			Namespace: o.namespace,
			Labels:    map[string]string{token.LabelNetwork: o.network},
		},
		Type: corev1.SecretType(token.SecretType),
		Data: map[string][]byte{
			token.SecretKeyToken: []byte(raw),
			token.SecretKeyUser:  []byte(o.user),
		},
	}, nil
}

// dnsName turns s into a DNS-1123 name: lower case letters, digits and
// single dashes, starting and ending with a letter or digit, at most 253
// characters.
func dnsName(s string) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(s) {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			b.WriteRune(r)
			dash = false
		} else if !dash && b.Len() > 0 {
			b.WriteByte('-')
			dash = true
		}
	}
	n := b.String()
	if len(n) > validation.DNS1123SubdomainMaxLength {
		n = n[:validation.DNS1123SubdomainMaxLength]
	}
	n = strings.Trim(n, "-")
	if n == "" {
		return "token"
	}
	return n
}
