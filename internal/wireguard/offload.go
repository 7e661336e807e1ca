package wireguard

import (
	"errors"
	"fmt"
	"os"
	"sync/atomic"
	"syscall"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
	"golang.zx2c4.com/wireguard/tun"
)

// TUN offload flags that golang.org/x/sys does not name yet (Linux 6.17,
// include/uapi/linux/if_tun.h).
const (
	tunFUDPTunnelGSO     = 0x080
	tunFUDPTunnelGSOCsum = 0x100

	tunOffloads = unix.TUN_F_CSUM | unix.TUN_F_TSO4 | unix.TUN_F_TSO6 | unix.TUN_F_USO4 | unix.TUN_F_USO6 |
		tunFUDPTunnelGSO | tunFUDPTunnelGSOCsum
	// what wireguard-go's own device asks for
	wggoOffloads = unix.TUN_F_CSUM | unix.TUN_F_TSO4 | unix.TUN_F_TSO6 | unix.TUN_F_USO4 | unix.TUN_F_USO6
)

// tunnelOffload is true unless a benchmark measures the device without
// the offload (set before an engine makes its device).
var tunnelOffload = true

var errNoTunnelOffload = errors.New("the kernel has no UDP tunnel offload for TUN devices")

// offloadTUN is wireguard-go's TUN device with one more offload: large
// packets inside a UDP tunnel (the edge's VXLAN over WireGuard), which
// wireguard-go's own device does not ask the kernel for. It takes over
// reading and writing packets, with the longer virtio-net header this
// needs, and leaves everything else (events, MTU, name) to the device it
// wraps.
type offloadTUN struct {
	tun.Device
	f      *os.File
	fc     syscall.RawConn // f's, for writes
	rx     *injector       // nil: writes go to the TUN device, without tunnel merges
	rbuf   []byte
	large  atomic.Uint64 // large packets read, for tests and diagnostics
	merged atomic.Uint64 // large packets written
	tcp    atomic.Uint64 // of which TCP inside the tunnel, through the injector
}

// withTunnelOffload switches d, a TUN device wireguard-go made with its
// virtio-net header in namespace ns (h: a netlink handle there), to the
// tunnel offload where the kernel has it (Linux 6.17 and later), makes its
// injector, and returns the device to use and what it does, for the log.
// Where the kernel refuses, d is returned unchanged: it works as before,
// one read per tunnel packet.
func withTunnelOffload(d tun.Device, ns netns.NsHandle, h *netlink.Handle, name string, mtu int) (tun.Device, string, error) {
	if !tunnelOffload {
		return d, "off", nil
	}
	sc, err := d.File().SyscallConn()
	if err != nil {
		return nil, "", fmt.Errorf("TUN device: %w", err)
	}
	var ioctlErr error
	if err := sc.Control(func(fd uintptr) {
		if ioctlErr = setVnet(int(fd)); ioctlErr == nil || errors.Is(ioctlErr, errNoTunnelOffload) {
			return
		}
		// Back to what wireguard-go's own reads and writes expect.
		if err := unix.IoctlSetInt(int(fd), unix.TUNSETOFFLOAD, wggoOffloads); err != nil {
			ioctlErr = fmt.Errorf("restore the offloads wireguard-go expects: %w", err)
			return
		}
		ioctlErr = errNoTunnelOffload
	}); err != nil {
		return nil, "", fmt.Errorf("TUN device: %w", err)
	}
	switch {
	case errors.Is(ioctlErr, errNoTunnelOffload):
		return d, "not in this kernel (Linux 6.17 and later)", nil
	case ioctlErr != nil:
		return nil, "", fmt.Errorf("TUN device: %w", ioctlErr)
	}
	t := &offloadTUN{Device: d, f: d.File(), fc: sc, rbuf: make([]byte, vnetTunnelHdrLen+65535)}
	inj := InjectorName(name)
	if inj == "" {
		return t, "reads only: the name is too long for an injector", nil
	}
	if t.rx, err = openInjector(ns, h, inj, mtu); err != nil {
		return t, fmt.Sprintf("reads only: %v", err), nil
	}
	return t, "reads and writes, injector " + inj, nil
}

// Close closes the injector and then the device.
func (t *offloadTUN) Close() error {
	if t.rx != nil {
		t.rx.f.Close()
	}
	return t.Device.Close()
}

// Read reads one packet from the kernel and returns it cut into wire-sized
// packets. wireguard-go calls it from one goroutine.
func (t *offloadTUN) Read(bufs [][]byte, sizes []int, offset int) (int, error) {
	n, err := t.f.Read(t.rbuf)
	if err != nil {
		return 0, err
	}
	h, err := parseVnetHdr(t.rbuf[:n])
	if err != nil {
		return 0, err
	}
	if h.gsoType != vnetGSONone {
		t.large.Add(1)
	}
	return split(t.rbuf[vnetTunnelHdrLen:n], h, bufs, sizes, offset)
}

// Write writes the packets wireguard-go decrypted, runs of one flow merged
// into large packets (nextRun), each in one writev without copying them:
// IPv6 packets through the injector, others (and everything when there is
// no injector) through the TUN device.
func (t *offloadTUN) Write(bufs [][]byte, offset int) (int, error) {
	var hdr [vnetTunnelHdrLen]byte
	iov := make([][]byte, 0, 3)
	for i := 0; i < len(bufs); {
		p := bufs[i][offset:]
		j, h, tails := nextRun(bufs, i, offset, t.rx != nil)
		if j > i+1 {
			t.merged.Add(1)
			if h.gsoType&vnetGSOTunnel != 0 {
				t.tcp.Add(1)
			}
		}
		dev := t.fc
		iov = iov[:0]
		if t.rx != nil && p[0]>>4 == 6 {
			dev = t.rx.fc
			h.shift(len(t.rx.eth))
			iov = append(iov, hdr[:], t.rx.eth[:], p)
		} else {
			iov = append(iov, hdr[:], p)
		}
		h.encode(hdr[:])
		iov = append(iov, tails...)
		if err := writev(dev, iov); err != nil {
			return i, err
		}
		i = j
	}
	return len(bufs), nil
}

func writev(sc syscall.RawConn, iov [][]byte) error {
	var werr error
	if err := sc.Write(func(fd uintptr) bool {
		_, werr = unix.Writev(int(fd), iov)
		return werr != unix.EAGAIN
	}); err != nil {
		return err
	}
	return werr
}

// nextRun finds the run of packets starting at bufs[i] that can be written
// as one: segments of one TCP stream inside VXLAN (only when tunnel is
// set: the injector takes them), else datagrams of one UDP flow. It
// returns the index after the run, the virtio-net header to write it with
// (zero for a single packet), and the payloads of the run's packets after
// the first, whose headers it rewrote.
func nextRun(bufs [][]byte, i, offset int, tunnel bool) (int, vnetHdr, [][]byte) {
	p := bufs[i][offset:]
	if i+1 == len(bufs) {
		return i + 1, vnetHdr{}, nil
	}
	var tails [][]byte
	if l, ok := parseTCPInVXLAN(p); ok && tunnel && tcpRunStart(p, l) {
		gsoSize := len(p) - l.hdrLen
		n, psh, j := gsoSize, false, i+1
		for ; !psh && j < len(bufs) && coalescibleTCP(p, bufs[j][offset:], l, n, gsoSize); j++ {
			q := bufs[j][offset:]
			tails = append(tails, q[l.hdrLen:])
			n += len(q) - l.hdrLen
			psh = q[l.th+13]&tcpFlagPSH != 0
		}
		if j > i+1 {
			return j, mergeTCPHeaders(p, l, n, gsoSize, psh), tails
		}
	}
	if th, ok := udpHeaderAt(p); ok && checksumOK(p, th, protoUDP) {
		gsoSize := len(p) - th - 8
		n, j := gsoSize, i+1
		for ; j < len(bufs) && coalescible(p, bufs[j][offset:], th, n, gsoSize); j++ {
			q := bufs[j][offset:]
			tails = append(tails, q[th+8:])
			n += len(q) - th - 8
		}
		if j > i+1 {
			return j, mergeHeaders(p, th, n, gsoSize), tails
		}
	}
	return i + 1, vnetHdr{}, nil
}
