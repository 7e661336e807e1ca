package wireguard

import (
	"fmt"
	"net"
	"os"
	"syscall"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// The injector: a TAP device beside the TUN device, through which the
// embedded device writes what it decrypted.
//
// A TUN device takes large packets inside a UDP tunnel from the kernel but
// does not give them back: Linux (6.17, 6.18) checks the offsets of such a
// packet written by user space as if an Ethernet header came first, so
// only a TAP device accepts them. The device therefore writes its merged
// packets, and to keep their order every other packet with an IPv6 header
// (the tunnel addresses are IPv6), to a TAP device named after the
// WireGuard interface with "r" appended (sbwg0 → sbwg0r), in an Ethernet
// frame addressed to the TAP itself, so that the kernel takes them in as
// if they had come out of the WireGuard interface. The TAP has no address
// and sends nothing; it goes with the device.

// InjectorName is the name of the TAP device that carries what the
// embedded WireGuard device wg decrypted into the kernel, or "" when wg's
// name is too long to have one (15 characters).
func InjectorName(wg string) string {
	if len(wg) >= unix.IFNAMSIZ-1 {
		return ""
	}
	return wg + "r"
}

// injectorSrcMAC is the source address of the frames the injector writes:
// locally administered, never on any wire.
var injectorSrcMAC = net.HardwareAddr{0x02, 0x73, 0x62, 0x77, 0x67, 0x72}

// injector is an open TAP device and the Ethernet header its frames carry.
type injector struct {
	f   *os.File
	fc  syscall.RawConn // f's, for writes
	eth [14]byte        // to the TAP's own address, IPv6
}

// openInjector makes the TAP device name in the namespace ns (h a netlink
// handle there) with the offloads and virtio-net header of offloadTUN, and
// brings it up without addresses.
func openInjector(ns netns.NsHandle, h *netlink.Handle, name string, mtu int) (*injector, error) {
	var fd int
	err := inNetns(ns, func() error {
		var err error
		fd, err = unix.Open("/dev/net/tun", unix.O_RDWR|unix.O_CLOEXEC, 0)
		if err != nil {
			return err
		}
		ifr, err := unix.NewIfreq(name)
		if err != nil {
			return err
		}
		ifr.SetUint16(unix.IFF_TAP | unix.IFF_NO_PI | unix.IFF_VNET_HDR)
		return unix.IoctlIfreq(fd, unix.TUNSETIFF, ifr)
	})
	if err == nil {
		err = setVnet(fd)
	}
	if err == nil {
		err = unix.SetNonblock(fd, true)
	}
	if err != nil {
		if fd > 0 {
			unix.Close(fd)
		}
		return nil, fmt.Errorf("make TAP device %q: %w", name, err)
	}
	in := &injector{f: os.NewFile(uintptr(fd), "/dev/net/tun")}
	if in.fc, err = in.f.SyscallConn(); err != nil {
		in.f.Close()
		return nil, fmt.Errorf("make TAP device %q: %w", name, err)
	}
	l, err := h.LinkByName(name)
	if err == nil {
		err = h.LinkSetIP6AddrGenMode(l, in6AddrGenModeNone)
	}
	if err == nil {
		err = h.LinkSetMTU(l, mtu)
	}
	if err == nil {
		err = h.LinkSetUp(l)
	}
	if err != nil {
		in.f.Close()
		return nil, fmt.Errorf("set TAP device %q up: %w", name, err)
	}
	copy(in.eth[:6], l.Attrs().HardwareAddr)
	copy(in.eth[6:12], injectorSrcMAC)
	in.eth[12], in.eth[13] = 0x86, 0xdd
	return in, nil
}

// setVnet asks the TUN or TAP device fd for every offload the device uses,
// with the virtio-net header that describes large packets inside tunnels.
func setVnet(fd int) error {
	if err := unix.IoctlSetInt(fd, unix.TUNSETOFFLOAD, tunOffloads); err != nil {
		return errNoTunnelOffload
	}
	if err := unix.IoctlSetPointerInt(fd, unix.TUNSETVNETLE, 1); err != nil {
		return err
	}
	return unix.IoctlSetPointerInt(fd, unix.TUNSETVNETHDRSZ, vnetTunnelHdrLen)
}

// in6AddrGenModeNone is IN6_ADDR_GEN_MODE_NONE (include/uapi/linux/
// if_link.h): no link-local address, so the TAP sends nothing of its own.
const in6AddrGenModeNone = 1
