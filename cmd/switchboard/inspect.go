package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"

	"switchboard/internal/token"
)

type inspectOptions struct {
	pub, network, cluster string
}

func tokenInspectCommand() *cobra.Command {
	var o inspectOptions
	cmd := &cobra.Command{
		Use:   "inspect [FILE|-]",
		Short: "Show a token's claims (from a raw token or a Secret in YAML/JSON); with --pub, verify it",
		Long: `Show a token's claims. The input (a file, or standard input when FILE is
missing or -) is a raw token or a Secret in YAML or JSON, as printed by
"switchboard token sign" or "kubectl get secret -o yaml".

Without --pub nothing is verified. With --pub the signature, the times and,
if given, --network and --cluster are checked as the operator would.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			return tokenInspect(c, args, o, time.Now())
		},
	}
	cmd.Flags().StringVar(&o.pub, "pub", "", "public key file (PEM) to verify the signature with")
	cmd.Flags().StringVar(&o.network, "network", "", "with --pub: the network the token must be for (default: the token's own)")
	cmd.Flags().StringVar(&o.cluster, "cluster", "", "with --pub: the cluster the token must allow")
	return cmd
}

func tokenInspect(c *cobra.Command, args []string, o inspectOptions, now time.Time) error {
	if o.pub == "" && (o.network != "" || o.cluster != "") {
		return errors.New("--network and --cluster are checked only when verifying: add --pub FILE")
	}
	data, src, err := readInput(c, args)
	if err != nil {
		return err
	}
	raw, err := tokenFromInput(data)
	if err != nil {
		return fmt.Errorf("read token from %s: %w", src, err)
	}
	claims, err := token.Parse(raw)
	if err != nil {
		return err
	}
	out := c.OutOrStdout()
	printClaims(out, claims, now)
	if o.pub == "" {
		fmt.Fprintln(out, "signature:   not verified (pass --pub USER.pub to verify)")
		return nil
	}
	pemData, err := os.ReadFile(o.pub)
	if err != nil {
		return fmt.Errorf("read --pub: %w", err)
	}
	pub, err := token.ParsePublicKeyPEM(pemData)
	if err != nil {
		return fmt.Errorf("--pub %s: %w", o.pub, err)
	}
	key, err := token.NewKey(pub)
	if err != nil {
		return fmt.Errorf("--pub %s: %w", o.pub, err)
	}
	want := token.Expect{Network: o.network, Cluster: o.cluster, Now: now}
	if want.Network == "" {
		want.Network = claims.Network
	}
	if _, err := token.Verify(c.Context(), raw, token.StaticKeys{claims.User: {key}}, want); err != nil {
		reason, _ := token.ReasonOf(err)
		fmt.Fprintf(out, "verified:    FAILED (%s) with %s\n", reason, key.ID)
		return err
	}
	fmt.Fprintf(out, "verified:    OK with %s for network %q\n", key.ID, want.Network)
	return nil
}

func readInput(c *cobra.Command, args []string) ([]byte, string, error) {
	if len(args) == 0 || args[0] == "-" {
		data, err := io.ReadAll(io.LimitReader(c.InOrStdin(), 1<<20))
		if err != nil {
			return nil, "", fmt.Errorf("read standard input: %w", err)
		}
		return data, "standard input", nil
	}
	data, err := os.ReadFile(args[0])
	if err != nil {
		return nil, "", fmt.Errorf("read token: %w", err)
	}
	return data, args[0], nil
}

// tokenFromInput accepts a raw token or a Secret in YAML or JSON.
func tokenFromInput(data []byte) (string, error) {
	s := strings.TrimSpace(string(data))
	if s == "" {
		return "", errors.New("input is empty: pass a token, or a Secret from \"switchboard token sign\"")
	}
	if strings.Count(s, ".") == 2 && !strings.ContainsAny(s, " \t\n:{") {
		return s, nil
	}
	var sec corev1.Secret
	if err := yaml.UnmarshalStrict(bytes.TrimSpace(data), &sec); err != nil {
		return "", fmt.Errorf("input is neither a token nor a Secret: %w", err)
	}
	if sec.Kind != "Secret" {
		return "", fmt.Errorf("input is a %q, not a token or a Secret", sec.Kind)
	}
	merged := map[string][]byte{}
	for k, v := range sec.Data {
		merged[k] = v
	}
	for k, v := range sec.StringData {
		merged[k] = []byte(v)
	}
	return token.FromSecretData(merged)
}

func printClaims(w io.Writer, c token.Claims, now time.Time) {
	when := func(t time.Time) string {
		if t.IsZero() {
			return "-"
		}
		d := t.Sub(now).Round(time.Second)
		if d >= 0 {
			return fmt.Sprintf("%s (in %s)", t.Format(time.RFC3339), d)
		}
		return fmt.Sprintf("%s (%s ago)", t.Format(time.RFC3339), -d)
	}
	clusters := "any"
	if len(c.Clusters) > 0 {
		clusters = strings.Join(c.Clusters, ", ")
	}
	fmt.Fprintf(w, "network:     %s\n", c.Network)
	fmt.Fprintf(w, "user:        %s\n", c.User)
	fmt.Fprintf(w, "key:         %s\n", c.KeyID)
	fmt.Fprintf(w, "issued at:   %s\n", when(c.IssuedAt))
	fmt.Fprintf(w, "not before:  %s\n", when(c.NotBefore))
	fmt.Fprintf(w, "expires at:  %s\n", when(c.Expiry))
	fmt.Fprintf(w, "clusters:    %s\n", clusters)
	fmt.Fprintf(w, "nonce:       %s\n", c.Nonce)
}
