package main

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/vishvananda/netlink"

	"switchboard/internal/edge/tunnel"
	"switchboard/internal/wireguard"
)

// edgeTunnel is how this edge carries its links on the WAN: inside its
// WireGuard device (the default), or, behind --insecure-plain-vxlan-wan,
// as plain VXLAN.
type edgeTunnel struct {
	o         options
	impl      wireguard.Implementation
	engine    *wireguard.Engine // nil for plain VXLAN
	port      uint16            // on the WAN
	publicKey string            // registered with the providers; "" for plain VXLAN
}

func newTunnel(o options, log *slog.Logger) (*edgeTunnel, error) {
	t := &edgeTunnel{o: o, port: uint16(o.wanPort)}
	if o.insecurePlainVXLAN {
		if t.port == 0 {
			t.port = tunnel.DefaultPort
		}
		log.Warn("INSECURE: --insecure-plain-vxlan-wan: inter-cluster links cross the WAN as plain VXLAN, unencrypted and unauthenticated; anyone on the WAN can read members' traffic and inject frames into the networks")
		return t, nil
	}
	if t.port == 0 {
		t.port = tunnel.DefaultWireGuardPort
	}
	switch o.wgImplementation {
	case "auto", "":
		t.impl = wireguard.Auto
	case string(wireguard.Kernel), string(wireguard.Userspace), string(wireguard.External):
		t.impl = wireguard.Implementation(o.wgImplementation)
	default:
		return nil, fmt.Errorf("--wireguard-implementation %q: use auto, kernel, userspace or external", o.wgImplementation)
	}
	key, err := wireguard.LoadOrCreateKey(o.wgKeyFile)
	if err != nil {
		return nil, fmt.Errorf("--wireguard-key-file: %w", err)
	}
	t.publicKey = key.PublicKey().String()
	t.engine = wireguard.New(log.With("component", "wireguard"))
	return t, nil
}

// make is the edge's tunnel constructor (edge.WithTunnel).
func (t *edgeTunnel) make(h *netlink.Handle, wan tunnel.WAN, log *slog.Logger) (tunnel.Tunnel, error) {
	if t.engine == nil {
		return tunnel.NewVXLAN(h, wan, log)
	}
	return tunnel.NewWireGuard(h, wan, tunnel.WireGuardOptions{
		Device: t.engine, Name: t.o.wgInterface, KeyFile: t.o.wgKeyFile, Implementation: t.impl,
	}, log)
}

// rotate is the controller's Rotate: nil for plain VXLAN.
func (t *edgeTunnel) rotate() func(context.Context) (string, error) {
	if t.engine == nil {
		return nil
	}
	return func(ctx context.Context) (string, error) {
		k, err := t.engine.Rotate(ctx)
		if err != nil {
			return "", err
		}
		t.publicKey = k.String()
		return t.publicKey, nil
	}
}

// changed is the controller's Changed: the re-creations of the device of
// switchboard-tunnel (implementation external); nil otherwise, where the
// edge makes the device itself.
func (t *edgeTunnel) changed(ctx context.Context, log *slog.Logger) <-chan struct{} {
	if t.engine == nil || t.impl != wireguard.External {
		return nil
	}
	return watchDevice(ctx, t.o.wgInterface, log)
}

func (t *edgeTunnel) mode() string {
	if t.engine == nil {
		return "none (INSECURE plain VXLAN)"
	}
	return "WireGuard"
}
