package netcheck

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// Probe frames test who can put frames into a network: Ethernet frames
// carrying a marker that names the test, sent raw on an interface
// (SendFrames: a broadcast of a local experimental EtherType, or one of the
// other kinds in frames.go) or inside a VXLAN datagram to a node's VXLAN
// port (SendVXLAN), and counted where they arrive (CountFrames) by their
// marker, so that no other traffic is ever counted.

// ProbeEtherType is the EtherType of probe frames: IEEE 802 Local
// Experimental EtherType 1, which no protocol stack answers.
const ProbeEtherType = 0x88B5

// probeMagic starts a probe frame's payload, before its marker.
const probeMagic = "switchboard-probe "

var broadcastMAC = net.HardwareAddr{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}

// ProbeFrame returns a broadcast Ethernet frame from src whose payload is
// the probe magic, the marker and a newline (a link may pad the frame).
func ProbeFrame(src net.HardwareAddr, marker string) []byte {
	return probeFrame(broadcastMAC, src, marker)
}

// probeFrame returns a probe frame of ProbeEtherType from src to dst.
func probeFrame(dst, src net.HardwareAddr, marker string) []byte {
	pl := probePayload(marker)
	return append(ethHeader(dst, src, ProbeEtherType, len(pl)), pl...)
}

// probeMarker returns the marker of a probe frame of any kind: what
// follows the first probe magic after the Ethernet header, up to a
// newline.
func probeMarker(frame []byte) (string, bool) {
	if len(frame) < 14 {
		return "", false
	}
	_, rest, ok := bytes.Cut(frame[14:], []byte(probeMagic))
	if !ok {
		return "", false
	}
	marker, _, ok := bytes.Cut(rest, []byte{'\n'})
	if !ok {
		return "", false
	}
	return string(marker), true
}

// VXLANDatagram returns the UDP payload of a VXLAN packet (RFC 7348: flags
// with the I bit, VNI) that carries frame.
func VXLANDatagram(vni uint32, frame []byte) []byte {
	d := make([]byte, 8, 8+len(frame))
	d[0] = 0x08 // I: the VNI is valid
	binary.BigEndian.PutUint32(d[4:], vni<<8)
	return append(d, frame...)
}

// MaxVNI is the largest VXLAN network identifier (24 bits).
const MaxVNI = 1<<24 - 1

// randomMAC returns a locally administered unicast MAC address.
func randomMAC() net.HardwareAddr {
	m := make(net.HardwareAddr, 6)
	rand.Read(m)
	m[0] = m[0]&^0x01 | 0x02
	return m
}

// SendVXLAN sends count VXLAN datagrams to dst, each carrying a probe
// frame with marker for network vni, from src when it is valid (else from
// the address the route picks), one every gap.
func SendVXLAN(ctx context.Context, src netip.Addr, dst netip.AddrPort, vni uint32, marker string, count int, gap time.Duration) error {
	if vni > MaxVNI {
		return fmt.Errorf("VNI %d: must be at most %d", vni, MaxVNI)
	}
	var laddr *net.UDPAddr
	if src.IsValid() {
		laddr = net.UDPAddrFromAddrPort(netip.AddrPortFrom(src, 0))
	}
	c, err := net.DialUDP("udp", laddr, net.UDPAddrFromAddrPort(dst))
	if err != nil {
		return fmt.Errorf("open UDP socket to %s: %w", dst, err)
	}
	defer c.Close()
	d := VXLANDatagram(vni, ProbeFrame(randomMAC(), marker))
	return repeat(ctx, count, gap, func() error {
		if _, err := c.Write(d); err != nil {
			return fmt.Errorf("send VXLAN datagram to %s: %w", dst, err)
		}
		return nil
	})
}

// SendFrames sends count probe frames as spec says out of the interface
// ifName, raw, one every gap; the interface's MAC and addresses are the
// frames' sender's (see FrameSpec.Frame).
func SendFrames(ctx context.Context, ifName string, spec FrameSpec, count int, gap time.Duration) error {
	ifi, err := net.InterfaceByName(ifName)
	if err != nil {
		return fmt.Errorf("find interface %q: %w", ifName, err)
	}
	from := Sender{MAC: ifi.HardwareAddr}
	addrs, err := ifi.Addrs()
	if err != nil {
		return fmt.Errorf("read addresses of %q: %w", ifName, err)
	}
	for _, a := range addrs {
		if p, ok := a.(*net.IPNet); ok {
			if ip, ok := netip.AddrFromSlice(p.IP); ok {
				from.Addrs = append(from.Addrs, ip.Unmap())
			}
		}
	}
	f, err := spec.Frame(from)
	if err != nil {
		return err
	}
	fd, err := unix.Socket(unix.AF_PACKET, unix.SOCK_RAW|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("open packet socket: %w", err)
	}
	defer unix.Close(fd)
	to := &unix.SockaddrLinklayer{Ifindex: ifi.Index, Protocol: htons(binary.BigEndian.Uint16(f[12:])), Halen: 6}
	copy(to.Addr[:], f[:6])
	return repeat(ctx, count, gap, func() error {
		if err := unix.Sendto(fd, f, 0, to); err != nil {
			return fmt.Errorf("send frame on %s: %w", ifName, err)
		}
		return nil
	})
}

func repeat(ctx context.Context, count int, gap time.Duration, f func() error) error {
	for i := range count {
		if i > 0 && gap > 0 {
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(gap):
			}
		}
		if err := f(); err != nil {
			return err
		}
	}
	return nil
}

func htons(v uint16) uint16 { return v<<8 | v>>8 }

// counterBuffer is the receive buffer a FrameCounter asks for.
const counterBuffer = 8 << 20

// FrameCounter counts the probe frames that arrive on one interface, by
// marker. Its methods are safe for concurrent use.
type FrameCounter struct {
	ifName string

	mu     sync.Mutex
	counts map[string]int
	drops  int // frames the socket lost for want of buffer space
	fd     int // -1 once Run has closed it
}

// ListenFrames starts listening for probe frames on the interface ifName
// of the caller's network namespace: frames that arrive once it returns
// are counted while Run runs. Frames the interface sends are never
// counted.
func ListenFrames(ifName string) (*FrameCounter, error) {
	ifi, err := net.InterfaceByName(ifName)
	if err != nil {
		return nil, fmt.Errorf("find interface %q: %w", ifName, err)
	}
	// ETH_P_ALL: probes of every kind (ARP, IPv6, the probe EtherType).
	// Such a socket also sees what the interface sends; Run skips it.
	fd, err := unix.Socket(unix.AF_PACKET, unix.SOCK_RAW|unix.SOCK_CLOEXEC, int(htons(unix.ETH_P_ALL)))
	if err != nil {
		return nil, fmt.Errorf("open packet socket: %w", err)
	}
	// A large buffer, so that a reader that is late does not lose
	// frames (root may exceed rmem_max; others get what they may).
	if unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUFFORCE, counterBuffer) != nil {
		_ = unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUF, counterBuffer)
	}
	err = unix.Bind(fd, &unix.SockaddrLinklayer{Protocol: htons(unix.ETH_P_ALL), Ifindex: ifi.Index})
	if err == nil {
		err = unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &unix.Timeval{Usec: 100_000})
	}
	if err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("listen on %s: %w", ifName, err)
	}
	return &FrameCounter{fd: fd, ifName: ifName, counts: map[string]int{}}, nil
}

// Run counts frames until ctx ends, then closes the socket and returns
// nil; it returns early with the error that stopped reading.
func (c *FrameCounter) Run(ctx context.Context) error {
	defer func() {
		c.mu.Lock()
		defer c.mu.Unlock()
		c.readDrops()
		unix.Close(c.fd)
		c.fd = -1
	}()
	buf := make([]byte, 2048)
	for ctx.Err() == nil {
		n, from, err := unix.Recvfrom(c.fd, buf, 0) // only Run closes c.fd
		if errors.Is(err, unix.EAGAIN) || errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			return fmt.Errorf("read from %s: %w", c.ifName, err)
		}
		if ll, ok := from.(*unix.SockaddrLinklayer); ok && ll.Pkttype == unix.PACKET_OUTGOING {
			continue
		}
		if marker, ok := probeMarker(buf[:n]); ok {
			c.mu.Lock()
			c.counts[marker]++
			c.mu.Unlock()
		}
	}
	return nil
}

// readDrops adds what the socket lost since the last call (the kernel
// resets its statistics when they are read). c.mu is held.
func (c *FrameCounter) readDrops() {
	if c.fd < 0 {
		return
	}
	if st, err := unix.GetsockoptTpacketStats(c.fd, unix.SOL_PACKET, unix.PACKET_STATISTICS); err == nil {
		c.drops += int(st.Drops)
	}
}

// Drops returns how many frames of any marker the counter lost because
// it read them too slowly: while it is 0, the counts are exact.
func (c *FrameCounter) Drops() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.readDrops()
	return c.drops
}

// Count returns how many probe frames with marker have arrived so far.
func (c *FrameCounter) Count(marker string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.counts[marker]
}

// CountFrames counts the probe frames with marker that arrive on the
// interface ifName until ctx ends, and returns the count. It calls ready
// (if not nil) once it is listening: frames that arrive before are not
// counted.
func CountFrames(ctx context.Context, ifName, marker string, ready func()) (int, error) {
	c, err := ListenFrames(ifName)
	if err != nil {
		return 0, err
	}
	if ready != nil {
		ready()
	}
	err = c.Run(ctx)
	return c.Count(marker), err
}
