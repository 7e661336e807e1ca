package main

import (
	"flag"
	"fmt"
	"log/slog"
	"os"

	ctrl "sigs.k8s.io/controller-runtime"

	"switchboard/internal/wireguard"
)

// runTunnel is "switchboard-edge tunnel": the switchboard-tunnel DaemonSet's
// process. It keeps the edge's WireGuard device on the gateway node for the
// node's lifetime (wireguard.Serve), so that restarting or upgrading the
// edge, which configures it (--wireguard-implementation=external), does
// not take the tunnel down. It stops on SIGTERM; the device goes with it
// unless it is a kernel device.
func runTunnel(args []string) error {
	fs := flag.NewFlagSet("tunnel", flag.ContinueOnError)
	name := fs.String("interface", "sbwg0", "name of the WireGuard interface; the same as the edge's --wireguard-interface")
	mtu := fs.Int("mtu", 1420, "the interface's first MTU; the edge sets the one its WAN device leaves")
	if err := fs.Parse(args); err != nil {
		return err
	}
	log := slog.New(slog.NewJSONHandler(os.Stderr, nil)).With("component", "tunnel")
	log.Info("starting tunnel", "interface", *name)
	if err := wireguard.Serve(ctrl.SetupSignalHandler(), wireguard.Config{Name: *name, MTU: *mtu}, log); err != nil {
		return fmt.Errorf("--interface %s: %w", *name, err)
	}
	log.Info("tunnel stopped; the device is removed unless it is a kernel one", "interface", *name)
	return nil
}
