package wireguard

import (
	"fmt"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
)

// externalDevice is a device that another process made and keeps (see
// External), configured through wgctrl, which speaks generic netlink to a
// kernel device and the UAPI socket (/var/run/wireguard/NAME.sock) to a
// wireguard-go one. Closing it leaves the device as it is.
type externalDevice struct {
	*kernelDevice
}

// openExternal opens the device name that exists as a link of kind
// existing ("" when there is none) in the namespace ns (h a netlink handle
// there, the engine's), and reads it once to check that it answers.
func openExternal(ns netns.NsHandle, h *netlink.Handle, name, existing string) (externalDevice, error) {
	switch existing {
	case linkKindWireGuard, "tuntap":
	case "":
		return externalDevice{}, fmt.Errorf("WireGuard device %q does not exist: with implementation external another process makes it (on a gateway node the switchboard-tunnel DaemonSet, \"switchboard-edge tunnel --interface %s\"): start it, or use implementation auto", name, name)
	default:
		return externalDevice{}, fmt.Errorf("interface %q is a %s device, not a WireGuard one: delete it (ip link del %s) or choose another name", name, existing, name)
	}
	k, err := openKernel(ns, h, name)
	if err != nil {
		return externalDevice{}, err
	}
	if _, err := k.get(); err != nil {
		k.c.Close()
		return externalDevice{}, fmt.Errorf("%w (a userspace device answers on /var/run/wireguard/%s.sock: is its owner still starting, or is that directory not shared with it?)", err, name)
	}
	return externalDevice{k}, nil
}

// close releases the wgctrl client; the device stays.
func (x externalDevice) close() error { return x.c.Close() }
