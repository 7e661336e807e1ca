package wireguard

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"time"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.zx2c4.com/wireguard/wgctrl/wgtypes"
)

// Engine owns one WireGuard device (see the package comment). The zero
// value is not usable: use New.
type Engine struct {
	log *slog.Logger

	mu  sync.Mutex
	dev *liveDevice // nil before the first Set and after Close
}

// New returns an Engine that has made nothing yet. log may be nil (logs are
// discarded).
func New(log *slog.Logger) *Engine {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Engine{log: log}
}

// liveDevice is the device an Engine made or adopted, with the handles it
// keeps open for it.
type liveDevice struct {
	name, netnsPath string
	want            Implementation // as configured
	impl            Implementation // as chosen
	keyFile         string
	mtu             int
	pub             wgtypes.Key
	ns              netns.NsHandle
	h               *netlink.Handle // in ns
	b               backend
}

// Set makes the device match c (see the package comment). It may be called
// many times with the same Config; a call that finds nothing to change
// changes nothing. On error the device may be partly converged; the next
// Set carries on from there. ctx bounds the lookup of endpoint host names.
func (e *Engine) Set(ctx context.Context, c Config) error {
	if err := c.check(); err != nil {
		return fmt.Errorf("wireguard config: %w", err)
	}
	key, err := LoadOrCreateKey(c.PrivateKeyFile)
	if err != nil {
		return err
	}
	peers, err := resolve(ctx, net.DefaultResolver, c.Peers, key)
	if err != nil {
		return fmt.Errorf("wireguard config: %w", err)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if d := e.dev; d != nil && (d.name != c.Name || d.netnsPath != netnsPath(c.Netns) || d.want != c.Implementation || !d.exists()) {
		e.log.Info("replacing WireGuard device", "interface", d.name, "netns", d.netnsPath)
		e.dev = nil
		if err := d.close(); err != nil {
			return err
		}
	}
	if e.dev == nil {
		d, err := openDevice(c, e.log)
		if err != nil {
			return err
		}
		e.log.Info("WireGuard device ready", "interface", d.name, "netns", d.netnsPath, "implementation", d.impl)
		e.dev = d
	}
	d := e.dev
	d.keyFile, d.mtu = c.PrivateKeyFile, c.MTU
	return d.converge(deviceState{PrivateKey: key, ListenPort: c.ListenPort, Peers: peers})
}

// Rotate makes a new private key, writes it to the key file of the last
// Set (atomically, mode 0600), applies it to the device together with the
// tunnel address it implies, and returns the new public key. Peers reach
// this device again once they are given that key. It fails when Set has
// not made a device.
func (e *Engine) Rotate(ctx context.Context) (wgtypes.Key, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	d := e.dev
	if d == nil {
		return wgtypes.Key{}, errors.New("rotate WireGuard key: no device: call Set first")
	}
	k, err := wgtypes.GeneratePrivateKey()
	if err != nil {
		return wgtypes.Key{}, fmt.Errorf("rotate WireGuard key: %w", err)
	}
	if err := writeKeyFile(d.keyFile, k); err != nil {
		return wgtypes.Key{}, fmt.Errorf("rotate WireGuard key: %w", err)
	}
	if err := d.b.configure(wgtypes.Config{PrivateKey: &k}); err != nil {
		return wgtypes.Key{}, fmt.Errorf("rotate WireGuard key (the new key is in %q; the next Set applies it): %w", d.keyFile, err)
	}
	d.pub = k.PublicKey()
	e.log.Info("rotated WireGuard key", "interface", d.name, "publicKey", d.pub.String())
	if err := ensureLink(d.h, d.name, d.mtu, d.address()); err != nil {
		return d.pub, fmt.Errorf("rotate WireGuard key: %w", err)
	}
	return d.pub, nil
}

// PublicKey returns the public key of the device's private key, or the
// zero key before the first successful Set. To register a key before
// making the device, use LoadOrCreateKey(path).PublicKey().
func (e *Engine) PublicKey() wgtypes.Key {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.dev == nil {
		return wgtypes.Key{}
	}
	return e.dev.pub
}

// Close removes the device. It may be called more than once; the Engine
// may be Set again afterwards. A kernel device outlives its process unless
// closed, and a new Engine adopts it without a gap, so an edge that
// restarts should not Close; an embedded device goes with its process
// either way. An External device is left as it is (its owner removes it).
func (e *Engine) Close() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	d := e.dev
	e.dev = nil
	if d == nil {
		return nil
	}
	return d.close()
}

// Status is what the device reports.
type Status struct {
	Name           string
	Implementation Implementation
	PublicKey      wgtypes.Key
	ListenPort     int
	Address        netip.Prefix
	Peers          []PeerStatus
}

// PeerStatus is one peer as the device reports it.
type PeerStatus struct {
	PublicKey     wgtypes.Key
	Endpoint      netip.AddrPort // invalid when none is known
	AllowedIPs    []netip.Prefix
	LastHandshake time.Time // zero: none yet
	RxBytes       int64
	TxBytes       int64
}

// Status reads the device; it fails when there is none.
func (e *Engine) Status() (Status, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	d := e.dev
	if d == nil {
		return Status{}, errors.New("read WireGuard status: no device: call Set first")
	}
	wd, err := d.b.get()
	if err != nil {
		return Status{}, err
	}
	st := fromDevice(wd)
	s := Status{Name: d.name, Implementation: d.impl, PublicKey: wd.PublicKey, ListenPort: wd.ListenPort, Address: d.address()}
	for _, p := range wd.Peers {
		ps := st.Peers[p.PublicKey]
		s.Peers = append(s.Peers, PeerStatus{PublicKey: p.PublicKey, Endpoint: ps.Endpoint, AllowedIPs: ps.AllowedIPs,
			LastHandshake: p.LastHandshakeTime, RxBytes: p.ReceiveBytes, TxBytes: p.TransmitBytes})
	}
	return s, nil
}

func netnsPath(p string) string {
	if p == "" {
		return "/proc/self/ns/net"
	}
	return p
}

// openDevice makes or adopts the device of c.
func openDevice(c Config, log *slog.Logger) (*liveDevice, error) {
	d := &liveDevice{name: c.Name, netnsPath: netnsPath(c.Netns), want: c.Implementation}
	var err error
	if d.ns, err = netns.GetFromPath(d.netnsPath); err != nil {
		return nil, fmt.Errorf("open network namespace %q for WireGuard device %q: %w", d.netnsPath, c.Name, err)
	}
	if d.h, err = netlink.NewHandleAt(d.ns); err != nil {
		d.ns.Close()
		return nil, fmt.Errorf("open netlink in %q: %w", d.netnsPath, err)
	}
	existing := ""
	var nf netlink.LinkNotFoundError
	if l, err := d.h.LinkByName(c.Name); err == nil {
		existing = l.Type()
	} else if !errors.As(err, &nf) {
		d.closeHandles()
		return nil, fmt.Errorf("look for interface %q in %q: %w", c.Name, d.netnsPath, err)
	}
	if c.Implementation == External {
		d.impl = External
		d.b, err = openExternal(d.ns, d.h, c.Name, existing)
		if err != nil {
			d.closeHandles()
			return nil, err
		}
		return d, nil
	}
	d.impl, err = choose(c.Name, c.Implementation, existing, func() error { return addKernelLink(d.h, c.Name, c.MTU) })
	if err == nil && d.impl == Kernel {
		d.b, err = openKernel(d.ns, d.h, c.Name)
		if err != nil && existing == "" {
			_ = deleteLink(d.h, c.Name)
		}
	} else if err == nil {
		d.b, err = openUserspace(d.ns, c.Name, c.MTU, log)
	}
	if err != nil {
		d.closeHandles()
		return nil, err
	}
	return d, nil
}

func (d *liveDevice) address() netip.Prefix {
	return netip.PrefixFrom(TunnelAddress(d.pub), TunnelPrefix.Bits())
}

// exists reports whether the interface is still there (someone may have
// deleted it).
func (d *liveDevice) exists() bool {
	_, err := d.h.LinkByName(d.name)
	var nf netlink.LinkNotFoundError
	return !errors.As(err, &nf)
}

func (d *liveDevice) converge(want deviceState) error {
	wd, err := d.b.get()
	if err != nil {
		return err
	}
	if c, ok := plan(fromDevice(wd), want); ok {
		if err := d.b.configure(c); err != nil {
			return err
		}
	}
	d.pub = want.PrivateKey.PublicKey()
	if err := ensureLink(d.h, d.name, d.mtu, d.address()); err != nil {
		return err
	}
	return d.b.up()
}

func (d *liveDevice) close() error {
	err := d.b.close()
	d.closeHandles()
	return err
}

func (d *liveDevice) closeHandles() {
	d.h.Close()
	d.ns.Close()
}

// deleteLink removes the interface name; one that does not exist is
// success.
func deleteLink(h *netlink.Handle, name string) error {
	l, err := h.LinkByName(name)
	var nf netlink.LinkNotFoundError
	if errors.As(err, &nf) {
		return nil
	}
	if err == nil {
		err = h.LinkDel(l)
	}
	if err != nil {
		return fmt.Errorf("delete interface %q: %w", name, err)
	}
	return nil
}
