package netnstest

import (
	"encoding/binary"
	"errors"
	"net"
	"net/netip"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// ARP is one captured ARP packet.
type ARP struct {
	Op        uint16 // 1 request, 2 reply
	SenderMAC net.HardwareAddr
	SenderIP  netip.Addr
	TargetIP  netip.Addr
}

// Capture records the ARP packets an interface receives or sends.
type Capture struct {
	s      sniffer
	mu     sync.Mutex
	frames []ARP
}

// sniffer reads every frame an interface receives or sends with a packet
// socket and hands each to a func, until stopped.
type sniffer struct {
	fd     int
	wg     sync.WaitGroup
	mu     sync.Mutex
	stop   bool
	closed bool
}

func htons(v uint16) uint16 { return v<<8 | v>>8 }

// CaptureARP starts recording the ARP packets that ifName in the namespace
// sends or receives, with a packet socket (ETH_P_ALL, since a socket bound
// to ETH_P_ARP sees no outgoing packets); Stop ends it. t.Cleanup stops it too.
func (n *NS) CaptureARP(t testing.TB, ifName string) *Capture {
	t.Helper()
	c := &Capture{}
	c.s.start(t, n, ifName, func(b []byte) {
		if a, ok := parseARP(b); ok {
			c.mu.Lock()
			c.frames = append(c.frames, a)
			c.mu.Unlock()
		}
	})
	return c
}

// start opens the socket on ifName in n and runs handle on each frame (the
// slice is reused afterwards) until stop; t.Cleanup stops it too.
func (s *sniffer) start(t testing.TB, n *NS, ifName string, handle func([]byte)) {
	t.Helper()
	idx := 0
	if l, err := n.Handle(t).LinkByName(ifName); err != nil {
		t.Fatalf("find %q in %q: %v", ifName, n.Name, err)
	} else {
		idx = l.Attrs().Index
	}
	s.fd = -1
	err := n.Do(func() error {
		fd, err := unix.Socket(unix.AF_PACKET, unix.SOCK_RAW|unix.SOCK_CLOEXEC, int(htons(unix.ETH_P_ALL)))
		if err != nil {
			return err
		}
		s.fd = fd
		return unix.Bind(fd, &unix.SockaddrLinklayer{Protocol: htons(unix.ETH_P_ALL), Ifindex: idx})
	})
	if err == nil {
		err = unix.SetsockoptTimeval(s.fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &unix.Timeval{Usec: 50_000})
	}
	if err == nil {
		// Room for a burst of 64 KiB GSO packets while this goroutine
		// waits for a CPU on a loaded machine: the kernel drops what does
		// not fit, and a capture that misses frames proves less.
		err = unix.SetsockoptInt(s.fd, unix.SOL_SOCKET, unix.SO_RCVBUFFORCE, 64<<20)
	}
	if err != nil {
		if s.fd >= 0 {
			unix.Close(s.fd)
		}
		t.Fatalf("capture on %s/%s: %v", n.Name, ifName, err)
	}
	s.wg.Add(1)
	go s.run(handle)
	t.Cleanup(s.halt)
}

func (s *sniffer) run(handle func([]byte)) {
	defer s.wg.Done()
	buf := make([]byte, 1<<16)
	for {
		s.mu.Lock()
		stop := s.stop
		s.mu.Unlock()
		if stop {
			return
		}
		n, _, err := unix.Recvfrom(s.fd, buf, 0)
		if errors.Is(err, unix.EAGAIN) || errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			return
		}
		handle(buf[:n])
	}
}

// halt ends the capture; it may be called more than once.
func (s *sniffer) halt() {
	s.mu.Lock()
	s.stop = true
	s.mu.Unlock()
	s.wg.Wait()
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.closed {
		s.closed = true
		unix.Close(s.fd)
	}
}

// FrameCapture records every frame an interface receives or sends.
type FrameCapture struct {
	s      sniffer
	mu     sync.Mutex
	frames [][]byte
}

// CaptureFrames starts recording a copy of every frame (up to 64 KiB, so
// whole GSO super-packets) that ifName in the namespace sends or receives;
// Stop ends it. t.Cleanup stops it too. A TUN device's frames start with
// the IP header, an Ethernet device's with the Ethernet header.
func (n *NS) CaptureFrames(t testing.TB, ifName string) *FrameCapture {
	t.Helper()
	c := &FrameCapture{}
	c.s.start(t, n, ifName, func(b []byte) {
		c.mu.Lock()
		c.frames = append(c.frames, append([]byte(nil), b...))
		c.mu.Unlock()
	})
	return c
}

// Stop ends the capture and returns the frames it recorded. It may be
// called more than once.
func (c *FrameCapture) Stop() [][]byte {
	c.s.halt()
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([][]byte(nil), c.frames...)
}

// parseARP reads an Ethernet frame carrying IPv4-over-Ethernet ARP.
func parseARP(b []byte) (ARP, bool) {
	const eth = 14
	if len(b) < eth+28 || binary.BigEndian.Uint16(b[12:]) != unix.ETH_P_ARP {
		return ARP{}, false
	}
	p := b[eth:]
	if p[4] != 6 || p[5] != 4 {
		return ARP{}, false
	}
	return ARP{
		Op:        binary.BigEndian.Uint16(p[6:]),
		SenderMAC: append(net.HardwareAddr(nil), p[8:14]...),
		SenderIP:  netip.AddrFrom4([4]byte(p[14:18])),
		TargetIP:  netip.AddrFrom4([4]byte(p[24:28])),
	}, true
}

// Stop ends the capture and returns what it recorded. It may be called
// more than once.
func (c *Capture) Stop() []ARP {
	c.s.halt()
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]ARP(nil), c.frames...)
}

// ListenUDP opens an IPv4 UDP socket on port in the namespace, bound to all
// addresses so that it receives broadcasts; t.Cleanup closes it.
func (n *NS) ListenUDP(t testing.TB, port int) *net.UDPConn {
	t.Helper()
	var c *net.UDPConn
	err := n.Do(func() (err error) {
		c, err = net.ListenUDP("udp4", &net.UDPAddr{Port: port})
		return err
	})
	if err != nil {
		t.Fatalf("listen on UDP port %d in %q: %v", port, n.Name, err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// SendUDP sends one datagram from the namespace to dst, which may be a
// broadcast address.
func (n *NS) SendUDP(t testing.TB, dst netip.AddrPort, payload string) {
	t.Helper()
	err := n.Do(func() error {
		c, err := net.DialUDP("udp4", nil, net.UDPAddrFromAddrPort(dst))
		if err != nil {
			return err
		}
		defer c.Close()
		_, err = c.Write([]byte(payload))
		return err
	})
	if err != nil {
		t.Fatalf("send UDP to %s from %q: %v", dst, n.Name, err)
	}
}

// ReceivedAll returns the payloads c receives until every one of want has
// arrived or max has passed, whichever comes first: a generous max costs
// nothing when the datagrams come.
func ReceivedAll(c *net.UDPConn, max time.Duration, want ...string) []string {
	var got []string
	missing := map[string]bool{}
	for _, w := range want {
		missing[w] = true
	}
	buf := make([]byte, 1500)
	_ = c.SetReadDeadline(time.Now().Add(max))
	for len(missing) > 0 {
		n, err := c.Read(buf)
		if err != nil {
			break
		}
		got = append(got, string(buf[:n]))
		delete(missing, string(buf[:n]))
	}
	return got
}

// Received returns the payloads c receives within d.
func Received(c *net.UDPConn, d time.Duration) []string {
	var got []string
	buf := make([]byte, 1500)
	_ = c.SetReadDeadline(time.Now().Add(d))
	for {
		n, err := c.Read(buf)
		if err != nil {
			return got
		}
		got = append(got, string(buf[:n]))
	}
}
