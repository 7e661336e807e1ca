package main

import (
	"encoding/json"
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"switchboard/internal/idco"
	"switchboard/internal/idco/client"
)

// adminCmd groups the commands that manage the IDCO through its API with
// an admin certificate.
func adminCmd() *cobra.Command {
	var server, certs string
	c := &cobra.Command{Use: "admin", Short: "Manage users, keys and permissions; read the audit log"}
	c.PersistentFlags().StringVar(&server, "server", "https://127.0.0.1:8443", "IDCO URL")
	c.PersistentFlags().StringVar(&certs, "certs", "", "directory with an admin ca.crt, tls.crt, tls.key (from \"enrol --admin\")")
	c.MarkPersistentFlagRequired("certs")
	cl := func() (*client.Client, error) { return client.NewFromDir(server, certs) }
	run := func(use, short string, args int, fn func(cmd *cobra.Command, c *client.Client, args []string) error) *cobra.Command {
		return &cobra.Command{Use: use, Short: short, Args: cobra.ExactArgs(args), RunE: func(cmd *cobra.Command, args []string) error {
			c, err := cl()
			if err != nil {
				return err
			}
			defer c.Close()
			return fn(cmd, c, args)
		}}
	}
	var pubFile string
	keyAdd := run("key-add USER --pub FILE", "Add a user's PEM public key", 1, func(cmd *cobra.Command, c *client.Client, a []string) error {
		pem, err := os.ReadFile(pubFile)
		if err != nil {
			return fmt.Errorf("read --pub: %w", err)
		}
		fp, err := c.AddKey(cmd.Context(), a[0], pem)
		if err == nil {
			fmt.Fprintln(cmd.OutOrStdout(), fp)
		}
		return err
	})
	keyAdd.Flags().StringVar(&pubFile, "pub", "", "PEM public key file (from \"switchboard keys new\")")
	keyAdd.MarkFlagRequired("pub")
	var auditLimit int
	var auditUser, auditNetwork string
	audit := run("audit", "Print the audit log as JSON lines, newest first", 0, func(cmd *cobra.Command, c *client.Client, _ []string) error {
		es, err := c.Audit(cmd.Context(), idco.AuditFilter{User: auditUser, Network: auditNetwork, Limit: auditLimit})
		if err != nil {
			return err
		}
		enc := json.NewEncoder(cmd.OutOrStdout())
		for _, e := range es {
			enc.Encode(e)
		}
		return nil
	})
	audit.Flags().IntVar(&auditLimit, "limit", 100, "entries to print")
	audit.Flags().StringVar(&auditUser, "user", "", "only entries about this user")
	audit.Flags().StringVar(&auditNetwork, "network", "", "only entries about this network")
	c.AddCommand(
		run("user-add USER", "Add a user", 1, func(cmd *cobra.Command, c *client.Client, a []string) error {
			return c.AddUser(cmd.Context(), a[0])
		}),
		keyAdd,
		run("key-revoke FINGERPRINT", "Revoke a key and the authorizations made with it", 1, func(cmd *cobra.Command, c *client.Client, a []string) error {
			return c.RevokeKey(cmd.Context(), a[0])
		}),
		run("grant USER NETWORK", "Let a user join a network where access lists are left open", 2, func(cmd *cobra.Command, c *client.Client, a []string) error {
			return c.Grant(cmd.Context(), a[0], a[1])
		}),
		run("revoke USER NETWORK", "Take a permission back", 2, func(cmd *cobra.Command, c *client.Client, a []string) error {
			return c.RevokePermission(cmd.Context(), a[0], a[1])
		}),
		run("owner-add USER NETWORK", "Make a user an owner of a network, who may manage it in the portal", 2, func(cmd *cobra.Command, c *client.Client, a []string) error {
			return c.AddOwner(cmd.Context(), a[0], a[1])
		}),
		run("owner-remove USER NETWORK", "Take a network's ownership from a user", 2, func(cmd *cobra.Command, c *client.Client, a []string) error {
			return c.RemoveOwner(cmd.Context(), a[0], a[1])
		}),
		run("end-authorization ID", "End an active authorization: the pod's cluster takes it off the network", 1, func(cmd *cobra.Command, c *client.Client, a []string) error {
			return c.EndAuthorization(cmd.Context(), a[0])
		}),
		run("deregister CLUSTER NETWORK", "Remove a cluster's registration of a network, whichever local Network made it "+
			"(frees a name held by a Network that is gone); ends that cluster's authorizations on it", 2,
			func(cmd *cobra.Command, c *client.Client, a []string) error {
				return c.DeregisterNetwork(cmd.Context(), a[0], a[1], idco.LocalNetwork{})
			}),
		audit,
	)
	return c
}
