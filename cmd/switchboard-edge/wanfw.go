package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"

	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"switchboard/internal/edge/tunnel"
	"switchboard/internal/firewall"
	"switchboard/internal/firewall/wan"
	"switchboard/internal/uninstall"
	"switchboard/internal/wireguard"
)

// wanAdmission installs the edge's nftables table (package firewall/wan)
// before the edge makes any tunnel port: with WireGuard, the inner VXLAN
// port takes only what the WireGuard interface delivers. With plain VXLAN
// there is nothing to hold to, and a table left by an earlier WireGuard
// run would drop the plain tunnel: it is removed. The table stays across
// restarts; keep returns the function to call at shutdown, which removes
// it only when the edge's DaemonSet is gone (an uninstall).
func wanAdmission(o options, log *slog.Logger, api client.Reader) (atExit func(), err error) {
	tbl, err := firewall.New(wan.Family, wan.TableName)
	if err != nil {
		return nil, err
	}
	if o.insecurePlainVXLAN {
		if err := tbl.Delete(); err != nil {
			return nil, fmt.Errorf("remove the WAN admission table of an earlier WireGuard run: %w", err)
		}
		return func() {}, nil
	}
	from := []string{o.wgInterface}
	if inj := wireguard.InjectorName(o.wgInterface); inj != "" {
		from = append(from, inj)
	}
	spec, err := wan.Spec(tunnel.DefaultPort, from...)
	if err != nil {
		return nil, err
	}
	if err := tbl.Set(spec); err != nil {
		return nil, fmt.Errorf("install the WAN admission table %s: %w", tbl, err)
	}
	log.Info("WAN admission: inner VXLAN only through WireGuard", "table", tbl.String(), "interfaces", from, "port", tunnel.DefaultPort)
	ds := types.NamespacedName{Namespace: os.Getenv("POD_NAMESPACE"), Name: o.daemonSet}
	return func() {
		ctx, cancel := context.WithTimeout(context.Background(), uninstall.Timeout)
		defer cancel()
		gone, why := uninstall.Check(ctx, api, ds)
		if !gone {
			log.Info("keeping the WAN admission table", "reason", why)
			return
		}
		if err := tbl.Delete(); err != nil {
			log.Error("delete the WAN admission table at uninstall", "err", err, "reason", why)
			return
		}
		log.Info("deleted the WAN admission table: switchboard is being uninstalled", "reason", why)
	}, nil
}
