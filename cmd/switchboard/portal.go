package main

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net/http"
	"os"
	"time"

	"github.com/spf13/cobra"

	"switchboard/internal/idco/portal"
)

func portalCommand() *cobra.Command {
	cmd := &cobra.Command{Use: "portal", Short: "Sign in to the IDCO's authorization portal"}
	cmd.AddCommand(portalLoginCommand())
	return cmd
}

func portalLoginCommand() *cobra.Command {
	var server, ca, user, key string
	cmd := &cobra.Command{
		Use:   "login --server URL --ca FILE --user USER",
		Short: "Sign a login challenge with your private key and print a one-time link to the portal",
		Long: `Sign a login challenge from the IDCO with your private key (the one whose public
key the IDCO holds for --user) and print a one-time link: open it in a browser to
manage the networks you own. The link works once, for a few minutes.`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			signer, err := loadPrivateKey(key, user)
			if err != nil {
				return err
			}
			pem, err := os.ReadFile(ca)
			if err != nil {
				return fmt.Errorf("read --ca: %w: pass the IDCO's ca.crt", err)
			}
			pool := x509.NewCertPool()
			if !pool.AppendCertsFromPEM(pem) {
				return fmt.Errorf("--ca %s holds no PEM certificate: pass the IDCO's ca.crt", ca)
			}
			hc := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}}}
			l, err := portal.RequestLink(c.Context(), hc, server, user, signer)
			if err != nil {
				return err
			}
			_, err = fmt.Fprintf(c.OutOrStdout(), "%s\n(valid once, until %s)\n", l.Link, l.Expires.Local().Format(time.Kitchen))
			return err
		},
	}
	f := cmd.Flags()
	f.StringVar(&server, "server", "https://127.0.0.1:8443", "IDCO URL")
	f.StringVar(&ca, "ca", "", "the IDCO's CA certificate (ca.crt from \"switchboard-idco init\") (required)")
	f.StringVar(&user, "user", "", "your user name at the IDCO (required)")
	f.StringVar(&key, "key", "", "private key file (default USER.key in the keys directory of \"switchboard keys new\")")
	cmd.MarkFlagRequired("ca")
	cmd.MarkFlagRequired("user")
	return cmd
}
