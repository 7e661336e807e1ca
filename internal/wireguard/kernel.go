package wireguard

import (
	"errors"
	"fmt"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.zx2c4.com/wireguard/wgctrl"
	"golang.zx2c4.com/wireguard/wgctrl/wgtypes"
)

// kernelDevice is a device of the kernel's WireGuard module, configured
// over generic netlink (wgctrl) from inside its namespace.
type kernelDevice struct {
	name string
	h    *netlink.Handle // in the device's namespace; the engine owns it
	c    *wgctrl.Client  // its socket was made in the device's namespace
}

// addKernelLink asks the kernel for a WireGuard link; it fails with
// EOPNOTSUPP where the kernel has no WireGuard module.
func addKernelLink(h *netlink.Handle, name string, mtu int) error {
	return h.LinkAdd(&netlink.Wireguard{LinkAttrs: netlink.LinkAttrs{Name: name, MTU: mtu}})
}

func openKernel(ns netns.NsHandle, h *netlink.Handle, name string) (*kernelDevice, error) {
	var c *wgctrl.Client
	err := inNetns(ns, func() (err error) {
		c, err = wgctrl.New()
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("open WireGuard netlink for %q: %w", name, err)
	}
	return &kernelDevice{name: name, h: h, c: c}, nil
}

func (k *kernelDevice) get() (*wgtypes.Device, error) {
	d, err := k.c.Device(k.name)
	if err != nil {
		return nil, fmt.Errorf("read WireGuard device %q: %w", k.name, err)
	}
	return d, nil
}

func (k *kernelDevice) configure(c wgtypes.Config) error {
	if err := k.c.ConfigureDevice(k.name, c); err != nil {
		return fmt.Errorf("configure WireGuard device %q: %w", k.name, err)
	}
	return nil
}

func (k *kernelDevice) up() error { return nil }

func (k *kernelDevice) close() error {
	cerr := k.c.Close()
	return errors.Join(deleteLink(k.h, k.name), cerr)
}
