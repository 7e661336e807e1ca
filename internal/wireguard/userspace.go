package wireguard

import (
	"fmt"
	"log/slog"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.zx2c4.com/wireguard/conn"
	"golang.zx2c4.com/wireguard/device"
	"golang.zx2c4.com/wireguard/tun"
	"golang.zx2c4.com/wireguard/wgctrl/wgtypes"
)

// userspaceDevice is embedded wireguard-go over a TUN device.
//
// wireguard-go assumes it runs in the namespace of its interface. Here it
// does not: the engine runs in its own namespace and the device lives in
// the target one. Two wrappers keep it honest: nsBind opens the UDP
// sockets inside the target namespace whichever goroutine asks (the
// device rebinds when its interface comes up, from its own goroutine), and
// nsTUN reads the interface's MTU through a netlink handle in that
// namespace instead of an ioctl on a socket of the caller's.
type userspaceDevice struct {
	name string
	dev  *device.Device
	tun  tun.Device      // as the device sees it
	h    *netlink.Handle // nsTUN's, closed with the device
}

func openUserspace(ns netns.NsHandle, name string, mtu int, log *slog.Logger) (*userspaceDevice, error) {
	h, err := netlink.NewHandleAt(ns)
	if err != nil {
		return nil, fmt.Errorf("open netlink in the namespace of %q: %w", name, err)
	}
	var t tun.Device
	err = inNetns(ns, func() (err error) {
		t, err = tun.CreateTUN(name, mtu)
		return err
	})
	if err != nil {
		h.Close()
		return nil, fmt.Errorf("create TUN device %q: %w", name, err)
	}
	ot, offload, err := withTunnelOffload(t, ns, h, name, mtu)
	if err != nil {
		t.Close()
		h.Close()
		return nil, fmt.Errorf("create TUN device %q: %w", name, err)
	}
	t = ot
	log.Info("embedded WireGuard device", "interface", name, "udpTunnelOffload", offload)
	logger := &device.Logger{
		Verbosef: func(f string, a ...any) { log.Debug(fmt.Sprintf(f, a...), "interface", name) },
		Errorf:   func(f string, a ...any) { log.Warn(fmt.Sprintf(f, a...), "interface", name) },
	}
	nt := &nsTUN{Device: t, h: h, name: name}
	d := device.NewDevice(nt, &nsBind{Bind: conn.NewStdNetBind(), ns: ns}, logger)
	return &userspaceDevice{name: name, dev: d, tun: nt, h: h}, nil
}

func (u *userspaceDevice) get() (*wgtypes.Device, error) {
	s, err := u.dev.IpcGet()
	if err != nil {
		return nil, fmt.Errorf("read WireGuard device %q: %w", u.name, err)
	}
	d, err := uapiGet(s)
	if err != nil {
		return nil, fmt.Errorf("read WireGuard device %q: %w", u.name, err)
	}
	d.Name = u.name
	return d, nil
}

func (u *userspaceDevice) configure(c wgtypes.Config) error {
	if err := u.dev.IpcSet(uapiSet(c)); err != nil {
		return fmt.Errorf("configure WireGuard device %q: %w", u.name, err)
	}
	return nil
}

func (u *userspaceDevice) up() error {
	if err := u.dev.Up(); err != nil {
		return fmt.Errorf("bring WireGuard device %q up: %w", u.name, err)
	}
	return nil
}

// close stops the device; closing its TUN file removes the interface.
func (u *userspaceDevice) close() error {
	u.dev.Close()
	u.h.Close()
	return nil
}

// nsTUN is a TUN device whose MTU is read in its own namespace.
type nsTUN struct {
	tun.Device
	h    *netlink.Handle
	name string
}

func (t *nsTUN) MTU() (int, error) {
	l, err := t.h.LinkByName(t.name)
	if err != nil {
		return 0, fmt.Errorf("read MTU of %q: %w", t.name, err)
	}
	return l.Attrs().MTU, nil
}

// nsBind opens its UDP sockets in the namespace ns, which must stay open
// as long as the bind is used.
type nsBind struct {
	conn.Bind
	ns netns.NsHandle
}

func (b *nsBind) Open(port uint16) (fns []conn.ReceiveFunc, actual uint16, err error) {
	nerr := inNetns(b.ns, func() error {
		fns, actual, err = b.Bind.Open(port)
		return nil
	})
	if nerr != nil {
		if err == nil {
			b.Bind.Close()
		}
		return nil, 0, nerr
	}
	return fns, actual, err
}
