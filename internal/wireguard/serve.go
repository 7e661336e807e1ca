package wireguard

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.zx2c4.com/wireguard/ipc"
)

// Serve keeps the WireGuard device c.Name in the namespace c.Netns for as
// long as ctx lasts, for an Engine of implementation External (in
// another process) to configure: the tunnel then outlives the restarts of
// that process, as a kernel device does.
//
//   - Where the kernel has WireGuard, Serve makes a kernel device (or finds
//     one) and only waits: the kernel keeps the device after Serve returns.
//   - Elsewhere it runs embedded wireguard-go over a TUN device (with its
//     injector, see InjectorName) and serves wireguard-go's UAPI on the
//     unix socket /var/run/wireguard/NAME.sock, the standard place where
//     wgctrl and wg(8) look for it; the device starts with no key and no
//     peers. On return the socket and the device are removed.
//
// Only c's Name, Netns and MTU (the interface's first MTU, which whoever
// configures it may change) are used; the key and the peers are the
// configuring engine's. Serve fails at once when another device of that
// name exists.
func Serve(ctx context.Context, c Config, log *slog.Logger) error {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	c = Config{Name: c.Name, Netns: c.Netns, MTU: c.MTU, PrivateKeyFile: "unused"}
	if err := c.check(); err != nil {
		return fmt.Errorf("serve WireGuard device: %w", err)
	}
	name, mtu := c.Name, c.MTU
	ns, err := netns.GetFromPath(netnsPath(c.Netns))
	if err != nil {
		return fmt.Errorf("open network namespace %q for WireGuard device %q: %w", netnsPath(c.Netns), name, err)
	}
	defer ns.Close()
	h, err := netlink.NewHandleAt(ns)
	if err != nil {
		return fmt.Errorf("open netlink: %w", err)
	}
	defer h.Close()
	kernel, err := serveKernel(h, name, mtu)
	if err != nil {
		return err
	}
	if kernel {
		log.Info("kernel WireGuard device ready; it lives on without this process", "interface", name)
		<-ctx.Done()
		return nil
	}
	u, err := openUserspace(ns, name, mtu, log)
	if err != nil {
		return err
	}
	defer u.close()
	ln, err := listenUAPI(name)
	if err != nil {
		return err
	}
	defer ln.Close()
	if err := u.up(); err != nil {
		return err
	}
	log.Info("WireGuard device ready for configuration", "interface", name, "socket", ln.Addr().String())
	go func() {
		<-ctx.Done()
		ln.Close()
	}()
	for {
		c, err := ln.Accept()
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("serve configuration socket of %q (deleted?): %w", name, err)
		}
		go u.dev.IpcHandle(c)
	}
}

// serveKernel makes the kernel WireGuard device name, or finds it, and
// reports whether there is one; false means the kernel has no WireGuard.
// A link of another kind that holds the name is an error.
func serveKernel(h *netlink.Handle, name string, mtu int) (bool, error) {
	l, err := h.LinkByName(name)
	var nf netlink.LinkNotFoundError
	switch {
	case err == nil && l.Type() == linkKindWireGuard:
		return true, nil
	case err == nil:
		return false, fmt.Errorf("a %s device named %q exists (another tunnel process may hold it): stop its owner or delete it (ip link del %s)", l.Type(), name, name)
	case !errors.As(err, &nf):
		return false, fmt.Errorf("look for interface %q: %w", name, err)
	}
	err = addKernelLink(h, name, mtu)
	switch {
	case err == nil:
		return true, nil
	case kernelLacksWireGuard(err):
		return false, nil
	default:
		return false, fmt.Errorf("create kernel WireGuard device %q: %w", name, err)
	}
}

// listenUAPI listens on the UAPI socket of name, replacing a stale socket
// file that nothing answers on.
func listenUAPI(name string) (net.Listener, error) {
	f, err := ipc.UAPIOpen(name)
	if err != nil {
		return nil, fmt.Errorf("open configuration socket of %q in /var/run/wireguard: %w", name, err)
	}
	defer f.Close()
	ln, err := ipc.UAPIListen(name, f)
	if err != nil {
		return nil, fmt.Errorf("listen on configuration socket of %q: %w", name, err)
	}
	return ln, nil
}
