// Package wireguard owns the WireGuard device of a gateway: one interface in
// a given network namespace (the edge's gateway namespace), its private key
// file, its tunnel address and its peers. The edge carries its inter-cluster
// tunnels inside it.
//
// The engine is declarative. Set(Config) may be called any number of times
// with the same or a changed Config; each call reads the device and changes
// only what differs:
//
//   - the device is created when missing, in the target namespace, and never
//     recreated to apply a change: MTU, listen port, private key and peers
//     are changed in place;
//   - peers are added, removed, or changed (endpoint, allowed IPs, keepalive)
//     one by one, and a peer whose settings did not change is not touched,
//     so its session and its traffic carry on;
//   - the interface holds exactly one address, its tunnel address (see
//     TunnelAddress), and is up.
//
// Two implementations sit behind one small interface (backend): the kernel
// module, created with netlink ("ip link add type wireguard") and configured
// with wgctrl, where the kernel has it; and embedded wireguard-go
// (golang.zx2c4.com/wireguard over a TUN device) where it does not. The TUN
// device and the UDP sockets are made inside the target namespace on a
// locked OS thread, so they live there whichever goroutine later uses them;
// the embedded device is configured through its UAPI text protocol in
// process (IpcSet/IpcGet), without a control socket. Auto selection tries
// the kernel first and falls back when the kernel does not know the device
// type (see choose).
//
// A third way keeps the device out of the configuring process: Serve runs
// embedded wireguard-go (or makes a kernel device) in a long-lived process
// of its own, the switchboard-tunnel DaemonSet on a gateway node, and
// serves wireguard-go's UAPI socket in /var/run/wireguard; an Engine of
// implementation External then configures that device through wgctrl,
// exactly as it would a kernel device, never making nor removing it. The
// edge runs that way, so a restart of the edge (its pod deleted, its
// process crashed, an upgrade) leaves the tunnel, its peers and its
// sessions as they are: the new edge's first Set finds nothing to change.
// An embedded device (Userspace, or Auto without the kernel module) dies
// with its process and takes the tunnel down until the next Set.
//
// Speed of the embedded device: wireguard-go reads its TUN device with the
// kernel's segmentation offloads, so a TCP stream through the tunnel comes
// up as 64 KiB packets, one read for ~45 wire packets. The edge does not
// send TCP through the tunnel but VXLAN (its inter-cluster ports), which
// wireguard-go's own device gets one frame per read. Where the kernel has
// the UDP tunnel offload for TUN devices (Linux 6.17 and later), the
// engine asks for it too (offload.go) and cuts those large VXLAN packets
// itself (segment.go), lengths, sequence numbers and checksums included;
// older kernels keep wireguard-go's device as it is. Figures in
// docs/benchmarks.md ("Encryption between gateways").
//
// Keys: the private key lives in a file that only its owner may read (mode
// 0600; LoadOrCreateKey makes it on first use and refuses a file that is
// readable by others or not a key). Rotate writes a new key to the file
// atomically, applies it, and returns the new public key, which the peers
// must then be given. The tunnel address is derived from the public key, so
// rotating the key changes it too.
//
// The tunnel address of every engine is computed from its public key alone
// (TunnelAddress): peers know each other's inner address from the public
// keys they are given, without any other registry field. A peer's tunnel
// address is always in its allowed IPs.
//
// An Engine is safe for concurrent use; its calls are serialised. It logs
// through the slog.Logger given to New (none: discarded).
package wireguard
