package main

import (
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/spf13/cobra"

	"switchboard/internal/idco"
	"switchboard/internal/idco/pki"
	"switchboard/internal/idco/server"
	"switchboard/internal/idco/store"
)

func serveCmd() *cobra.Command {
	var listen, dir, db string
	var jsonLogs bool
	c := &cobra.Command{
		Use:   "serve",
		Short: "Serve the IDCO API over HTTPS with client certificates",
		RunE: func(cmd *cobra.Command, _ []string) error {
			var h slog.Handler = slog.NewTextHandler(os.Stderr, nil)
			if jsonLogs {
				h = slog.NewJSONHandler(os.Stderr, nil)
			}
			log := slog.New(h)
			if db == "" {
				db = filepath.Join(dir, "idco.db")
			}
			ctx := cmd.Context()
			tlsCfg, err := pki.ServerTLS(dir)
			if err != nil {
				return err
			}
			st, err := store.Open(ctx, db)
			if err != nil {
				return err
			}
			defer st.Close()
			svc := idco.New(st, idco.WithLogger(log))
			reg := prometheus.NewRegistry()
			reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
			srv := server.New(svc, log, reg)
			ln, err := net.Listen("tcp", listen)
			if err != nil {
				return fmt.Errorf("listen on %s (--listen): %w", listen, err)
			}
			go svc.Run(ctx, time.Second)
			log.Info("idco serving", "listen", ln.Addr().String(), "db", st.Dialect())
			return srv.Serve(ctx, ln, tlsCfg)
		},
	}
	c.Flags().StringVar(&listen, "listen", "127.0.0.1:8443", "address to serve HTTPS on")
	c.Flags().StringVar(&dir, "dir", "", "directory made by \"init\" (CA and server certificate)")
	c.Flags().StringVar(&db, "db", "", "database: a file path or sqlite:///path/file.db (default DIR/idco.db), or postgres://...")
	c.Flags().BoolVar(&jsonLogs, "log-json", false, "log as JSON")
	c.MarkFlagRequired("dir")
	return c
}

func initCmd() *cobra.Command {
	var dir string
	var hosts []string
	c := &cobra.Command{
		Use:   "init",
		Short: "Make the IDCO's CA and server certificate",
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := pki.Init(dir, hosts); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "CA and server certificate for %v written to %s\n", hosts, dir)
			return nil
		},
	}
	c.Flags().StringVar(&dir, "dir", "", "directory to write ca.crt, ca.key, server.crt, server.key")
	c.Flags().StringSliceVar(&hosts, "host", []string{"127.0.0.1", "localhost"}, "server certificate names (IP addresses or DNS names)")
	c.MarkFlagRequired("dir")
	return c
}

func enrolCmd() *cobra.Command {
	var dir, cluster, admin, out string
	c := &cobra.Command{
		Use:   "enrol",
		Short: "Issue a client certificate for a cluster (--cluster) or an admin (--admin)",
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := pki.Enrol(dir, out, pki.Identity{Cluster: cluster, Admin: admin}); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "ca.crt, tls.crt and tls.key written to %s\n", out)
			return nil
		},
	}
	c.Flags().StringVar(&dir, "dir", "", "directory made by \"init\"")
	c.Flags().StringVar(&cluster, "cluster", "", "cluster the certificate acts for")
	c.Flags().StringVar(&admin, "admin", "", "admin name, for an admin certificate")
	c.Flags().StringVar(&out, "out", "", "directory to write ca.crt, tls.crt, tls.key")
	c.MarkFlagRequired("dir")
	c.MarkFlagRequired("out")
	return c
}
