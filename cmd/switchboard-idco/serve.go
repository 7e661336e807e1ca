package main

import (
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/spf13/cobra"

	"switchboard/internal/idco"
	"switchboard/internal/idco/pki"
	"switchboard/internal/idco/portal"
	"switchboard/internal/idco/server"
	"switchboard/internal/idco/store"
)

func serveCmd() *cobra.Command {
	var listen, dir, db, export string
	var jsonLogs, noPortal bool
	var sessionTTL time.Duration
	var auditKeep, endedKeep, sweepEvery days
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
			if !noPortal {
				srv.Mount(portal.Prefix, portal.New(svc, portal.WithLogger(log), portal.WithSessionTTL(sessionTTL)).Handler())
			}
			ln, err := net.Listen("tcp", listen)
			if err != nil {
				return fmt.Errorf("listen on %s (--listen): %w", listen, err)
			}
			go svc.Run(ctx, time.Second)
			ret := idco.Retention{Audit: time.Duration(auditKeep), EndedAuthorizations: time.Duration(endedKeep), Every: time.Duration(sweepEvery)}
			if export != "" {
				ret.Export = idco.JSONLines{Path: export}
			} else if ret.Audit > 0 || ret.EndedAuthorizations > 0 {
				log.Warn("retention deletes without exporting: set --retention-export to keep the rows in JSON lines first")
			}
			go svc.RunRetention(ctx, ret, srv.ObserveSweep)
			log.Info("idco serving", "listen", ln.Addr().String(), "db", st.Dialect())
			return srv.Serve(ctx, ln, tlsCfg)
		},
	}
	c.Flags().StringVar(&listen, "listen", "127.0.0.1:8443", "address to serve HTTPS on")
	c.Flags().StringVar(&dir, "dir", "", "directory made by \"init\" (CA and server certificate)")
	c.Flags().StringVar(&db, "db", "", "database: a file path or sqlite:///path/file.db (default DIR/idco.db), or postgres://...")
	c.Flags().BoolVar(&jsonLogs, "log-json", false, "log as JSON")
	c.Flags().BoolVar(&noPortal, "no-portal", false, "do not serve the authorization portal at /portal/")
	c.Flags().DurationVar(&sessionTTL, "portal-session-ttl", portal.SessionTTL, "how long a portal session lasts")
	c.Flags().Var(&auditKeep, "audit-retention", "keep audit entries this long, e.g. 90d or 720h (0: forever)")
	c.Flags().Var(&endedKeep, "ended-authorization-retention", "keep revoked, released and expired authorizations this long after they ended, e.g. 30d (0: forever); active ones are always kept")
	c.Flags().StringVar(&export, "retention-export", "", "before deleting, append the rows as JSON lines to this file, or to DIR/idco-export-YYYY-MM-DD.jsonl if it is a directory")
	sweepEvery = days(time.Hour)
	c.Flags().Var(&sweepEvery, "retention-interval", "how often the retention sweep runs")
	c.MarkFlagRequired("dir")
	return c
}

// days is a duration flag that also takes whole days ("30d").
type days time.Duration

func (d *days) String() string { return time.Duration(*d).String() }

func (d *days) Type() string { return "duration" }

func (d *days) Set(v string) error {
	if n, ok := strings.CutSuffix(v, "d"); ok {
		if i, err := strconv.Atoi(n); err == nil && i >= 0 {
			*d = days(time.Duration(i) * 24 * time.Hour)
			return nil
		}
	}
	t, err := time.ParseDuration(v)
	if err != nil || t < 0 {
		return fmt.Errorf("%q is not a duration: write whole days (30d) or a Go duration (720h, 90m)", v)
	}
	*d = days(t)
	return nil
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
