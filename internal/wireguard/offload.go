package wireguard

import (
	"errors"
	"fmt"
	"os"
	"sync/atomic"

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
// needs, and leaves everything else (events, MTU, name, close) to the
// device it wraps.
type offloadTUN struct {
	tun.Device
	f      *os.File
	rbuf   []byte
	large  atomic.Uint64 // large packets read, for tests and diagnostics
	merged atomic.Uint64 // large packets written
}

// withTunnelOffload switches d, a TUN device wireguard-go made with its
// virtio-net header, to the tunnel offload where the kernel has it (Linux
// 6.17 and later) and returns the device to use. Where the kernel refuses,
// d is returned unchanged: it works as before, one read per tunnel packet.
func withTunnelOffload(d tun.Device) (tun.Device, bool, error) {
	if !tunnelOffload {
		return d, false, nil
	}
	f := d.File()
	sc, err := f.SyscallConn()
	if err != nil {
		return nil, false, fmt.Errorf("TUN device: %w", err)
	}
	var ioctlErr error
	if err := sc.Control(func(fd uintptr) {
		if unix.IoctlSetInt(int(fd), unix.TUNSETOFFLOAD, tunOffloads) != nil {
			ioctlErr = errNoTunnelOffload // unknown flags: an older kernel
			return
		}
		if ioctlErr = unix.IoctlSetPointerInt(int(fd), unix.TUNSETVNETLE, 1); ioctlErr == nil {
			ioctlErr = unix.IoctlSetPointerInt(int(fd), unix.TUNSETVNETHDRSZ, vnetTunnelHdrLen)
		}
		if ioctlErr != nil {
			// Back to what wireguard-go's own reads and writes expect.
			if err := unix.IoctlSetInt(int(fd), unix.TUNSETOFFLOAD, wggoOffloads); err != nil {
				ioctlErr = fmt.Errorf("restore the offloads wireguard-go expects: %w", err)
				return
			}
			ioctlErr = errNoTunnelOffload
		}
	}); err != nil {
		return nil, false, fmt.Errorf("TUN device: %w", err)
	}
	switch {
	case errors.Is(ioctlErr, errNoTunnelOffload):
		return d, false, nil
	case ioctlErr != nil:
		return nil, false, fmt.Errorf("TUN device: %w", ioctlErr)
	}
	return &offloadTUN{Device: d, f: f, rbuf: make([]byte, vnetTunnelHdrLen+65535)}, true, nil
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

// Write writes the packets wireguard-go decrypted, consecutive datagrams of
// one UDP flow (the peer gateway's VXLAN) merged into one large packet
// (coalesce.go), each in one writev without copying the packets.
func (t *offloadTUN) Write(bufs [][]byte, offset int) (int, error) {
	sc, err := t.f.SyscallConn()
	if err != nil {
		return 0, err
	}
	var hdr [vnetTunnelHdrLen]byte
	iov := make([][]byte, 0, 2)
	for i := 0; i < len(bufs); {
		p := bufs[i][offset:]
		j := i + 1
		clear(hdr[:])
		iov = append(iov[:0], hdr[:], p)
		if th, ok := udpHeaderAt(p); ok && j < len(bufs) && checksumOK(p, th, protoUDP) {
			gsoSize := len(p) - th - 8
			n := gsoSize
			for ; j < len(bufs) && coalescible(p, bufs[j][offset:], th, n, gsoSize); j++ {
				q := bufs[j][offset:]
				iov = append(iov, q[th+8:])
				n += len(q) - th - 8
			}
			if j > i+1 {
				mergeHeaders(p, th, n, gsoSize).encode(hdr[:])
				t.merged.Add(1)
			}
		}
		var werr error
		if err := sc.Write(func(fd uintptr) bool {
			_, werr = unix.Writev(int(fd), iov)
			return werr != unix.EAGAIN
		}); err != nil {
			return i, err
		}
		if werr != nil {
			return i, werr
		}
		i = j
	}
	return len(bufs), nil
}
