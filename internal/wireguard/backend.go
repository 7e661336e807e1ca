package wireguard

import (
	"errors"
	"fmt"

	"golang.org/x/sys/unix"
	"golang.zx2c4.com/wireguard/wgctrl/wgtypes"
)

// backend is what differs between the kernel module and embedded
// wireguard-go: reading and changing the WireGuard side of one device, and
// removing it. The interface itself (address, MTU, up) is netlink's for
// both. Implementations are used by one Engine at a time.
type backend interface {
	// get reads the device's configuration.
	get() (*wgtypes.Device, error)
	// configure applies a partial configuration: only what c sets.
	configure(c wgtypes.Config) error
	// up tells the device that its interface is up (the embedded device
	// opens its socket then); the kernel module needs nothing.
	up() error
	// close removes the device; one already gone is success.
	close() error
}

// linkKindWireGuard is the kernel's link kind of a WireGuard device;
// embedded devices are of kind "tun".
const linkKindWireGuard = "wireguard"

// choose decides which implementation makes the device named name, given
// the requested one, the kind of the link of that name that exists already
// ("" for none), and addKernel, which tries to make the kernel device. A
// kernel device that exists is adopted (as after an edge restart); any
// other existing link belongs to someone else and is refused. Auto falls
// back to embedded wireguard-go only when the kernel does not know the
// device type, not on other errors.
func choose(name string, want Implementation, existing string, addKernel func() error) (Implementation, error) {
	switch {
	case existing == linkKindWireGuard && want == Userspace:
		return "", fmt.Errorf("device %q exists as a kernel WireGuard device and the userspace implementation was asked for: delete it (ip link del %s) or use implementation kernel or auto", name, name)
	case existing == linkKindWireGuard:
		return Kernel, nil
	case existing != "":
		return "", fmt.Errorf("a %s device named %q exists that this engine did not make (another edge, wireguard-go or switchboard-tunnel may hold it): use implementation external to configure switchboard-tunnel's device, or stop its owner or delete it (ip link del %s), or choose another name", existing, name, name)
	case want == Userspace:
		return Userspace, nil
	}
	err := addKernel()
	switch {
	case err == nil:
		return Kernel, nil
	case want == Auto && kernelLacksWireGuard(err):
		return Userspace, nil
	case kernelLacksWireGuard(err):
		return "", fmt.Errorf("create kernel WireGuard device %q: the kernel has no WireGuard module (%w): load it (modprobe wireguard) or use implementation auto or userspace", name, err)
	default:
		return "", fmt.Errorf("create kernel WireGuard device %q: %w", name, err)
	}
}

// kernelLacksWireGuard reports whether err is what netlink answers when
// asked for a link kind the kernel does not have ("Unknown device type" in
// ip's words).
func kernelLacksWireGuard(err error) bool {
	return errors.Is(err, unix.EOPNOTSUPP) || errors.Is(err, unix.EAFNOSUPPORT)
}
