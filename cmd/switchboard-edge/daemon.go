package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
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

// watchDevice signals on the returned channel each time the interface name
// appears with a new index in this process's namespace (switchboard-tunnel
// made the device anew), until ctx ends, so that the controller gives the
// new device its key and peers at once instead of at its next resync. A
// failure to subscribe is logged and leaves the resync to catch up.
func watchDevice(ctx context.Context, name string, log *slog.Logger) <-chan struct{} {
	out := make(chan struct{}, 1)
	updates := make(chan netlink.LinkUpdate, 16)
	err := netlink.LinkSubscribeWithOptions(updates, ctx.Done(), netlink.LinkSubscribeOptions{
		ErrorCallback: func(err error) {
			log.Warn("watch of the WireGuard interface failed; the resync catches up", "interface", name, "err", err)
		},
	})
	if err != nil {
		log.Warn("cannot watch the WireGuard interface; the resync catches up", "interface", name, "err", err)
		return out
	}
	go func() {
		last := 0
		if l, err := netlink.LinkByName(name); err == nil {
			last = l.Attrs().Index
		}
		for u := range updates {
			if u.Header.Type != unix.RTM_NEWLINK || u.Attrs().Name != name || u.Attrs().Index == last {
				continue
			}
			last = u.Attrs().Index
			log.Info("the WireGuard interface was made anew", "interface", name, "index", last)
			select {
			case out <- struct{}{}:
			default:
			}
		}
	}()
	return out
}
