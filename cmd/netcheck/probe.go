package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/netip"
	"slices"
	"strings"
	"time"

	"switchboard/internal/netcheck"
)

// The probe commands test who can put frames into a network: "vxlan"
// sends probe frames inside VXLAN datagrams to nodes' VXLAN ports, "frames"
// sends them raw on an interface, and "count" counts those that arrive.

const vxlanSynopsis = "vxlan --vni N --marker M [--count 10] [--gap 10ms] [--port 4789] [--from ADDR] HOST..."

const vxlanDescription = `Send --count VXLAN datagrams to UDP port --port of each HOST, each
carrying a broadcast probe frame with marker M for network N (RFC 7348
VNI), as a node's VXLAN device would. "netcheck count" on an interface of
network N counts those that get in.`

func runVXLAN(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet(vxlanSynopsis, vxlanDescription, stderr)
	vni := fs.Uint("vni", 0, "VXLAN network identifier of the target network (required)")
	marker := fs.String("marker", "", "marker the probe frames carry (required)")
	count := fs.Int("count", 10, "datagrams per host")
	gap := fs.Duration("gap", 10*time.Millisecond, "pause between two datagrams")
	port := fs.Uint("port", 4789, "destination UDP port")
	from := fs.String("from", "", "source address (default: the one the route picks)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return errUsage
	}
	if *vni == 0 || *vni > netcheck.MaxVNI || *marker == "" || fs.NArg() == 0 || *port == 0 || *port > 65535 {
		fmt.Fprintf(stderr, "netcheck vxlan: give --vni 1-%d, --marker, a --port 1-65535 and at least one HOST\n", netcheck.MaxVNI)
		fs.Usage()
		return errUsage
	}
	var src netip.Addr
	if *from != "" {
		a, err := netip.ParseAddr(*from)
		if err != nil {
			fmt.Fprintf(stderr, "netcheck vxlan: --from %q: not an IP address\n", *from)
			fs.Usage()
			return errUsage
		}
		src = a
	}
	var dsts []netip.AddrPort
	for _, h := range fs.Args() {
		a, err := netip.ParseAddr(h)
		if err != nil {
			fmt.Fprintf(stderr, "netcheck vxlan: HOST %q: not an IP address\n", h)
			fs.Usage()
			return errUsage
		}
		dsts = append(dsts, netip.AddrPortFrom(a, uint16(*port)))
	}
	for _, dst := range dsts {
		if err := netcheck.SendVXLAN(ctx, src, dst, uint32(*vni), *marker, *count, *gap); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "sent %d VXLAN datagrams for VNI %d to %s\n", *count, *vni, dst)
	}
	return nil
}

const framesSynopsis = "frames --iface IF --marker M [--kind broadcast|arp|nd|spoof] [--target ADDR] [--src-mac MAC] [--dst-mac MAC] [--count 10] [--gap 10ms]"

const framesDescription = `Send --count probe frames with marker M out of interface IF, raw.
"netcheck count" elsewhere counts those that arrive. --kind:
  broadcast  a broadcast of EtherType 0x88b5 from IF's MAC (the default)
  arp        an ARP request from IF's MAC and IPv4 address asking who has
             --target (IPv4), the marker in the padding
  nd         an IPv6 neighbour solicitation for --target (IPv6) to its
             solicited-node multicast address, from IF's MAC and IPv6
             address, the marker in an experimental option
  spoof      a unicast frame of EtherType 0x88b5 from --src-mac (default
             IF's MAC) to --dst-mac`

func runFrames(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet(framesSynopsis, framesDescription, stderr)
	iface := fs.String("iface", "", "interface to send on (required)")
	marker := fs.String("marker", "", "marker the probe frames carry (required)")
	kind := fs.String("kind", string(netcheck.KindBroadcast), "kind of frame: broadcast, arp, nd or spoof")
	target := fs.String("target", "", fmt.Sprintf("address an arp or nd probe asks for (default %s or %s)", netcheck.DefaultARPTarget, netcheck.DefaultNDTarget))
	srcMAC := fs.String("src-mac", "", "source MAC of a spoof probe (default: IF's)")
	dstMAC := fs.String("dst-mac", "", "destination MAC of a spoof probe (required for spoof)")
	count := fs.Int("count", 10, "frames to send")
	gap := fs.Duration("gap", 10*time.Millisecond, "pause between two frames")
	if err := parseArgs(fs, args, 0); err != nil {
		return err
	}
	spec, err := frameSpec(*kind, *marker, *target, *srcMAC, *dstMAC)
	if err == nil && *iface == "" {
		err = errors.New("give --iface")
	}
	if err == nil {
		// Build once from a stand-in sender, so that a bad flag is a
		// usage error before any interface is looked up.
		_, err = spec.Frame(netcheck.Sender{MAC: net.HardwareAddr{2, 0, 0, 0, 0, 1}})
	}
	if err != nil {
		fmt.Fprintf(stderr, "netcheck frames: %v\n", err)
		fs.Usage()
		return errUsage
	}
	if err := netcheck.SendFrames(ctx, *iface, spec, *count, *gap); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "sent %d %s frames on %s\n", *count, spec.Kind, *iface)
	return nil
}

// frameSpec reads the frames command's flags into a FrameSpec.
func frameSpec(kind, marker, target, srcMAC, dstMAC string) (netcheck.FrameSpec, error) {
	spec := netcheck.FrameSpec{Kind: netcheck.FrameKind(kind), Marker: marker}
	if !slices.Contains(netcheck.FrameKinds, spec.Kind) {
		return spec, fmt.Errorf("--kind %q: want one of %v", kind, netcheck.FrameKinds)
	}
	if marker == "" {
		return spec, errors.New("give --marker")
	}
	if target != "" {
		if spec.Kind != netcheck.KindARP && spec.Kind != netcheck.KindND {
			return spec, fmt.Errorf("--target is for --kind arp or nd, not %s", kind)
		}
		a, err := netip.ParseAddr(target)
		if err != nil {
			return spec, fmt.Errorf("--target %q: not an IP address", target)
		}
		spec.Target = a
	}
	if (srcMAC != "" || dstMAC != "") && spec.Kind != netcheck.KindSpoof {
		return spec, fmt.Errorf("--src-mac and --dst-mac are for --kind spoof, not %s", kind)
	}
	for _, m := range []struct {
		flag, val string
		to        *net.HardwareAddr
	}{{"--src-mac", srcMAC, &spec.SrcMAC}, {"--dst-mac", dstMAC, &spec.DstMAC}} {
		if m.val == "" {
			continue
		}
		hw, err := net.ParseMAC(m.val)
		if err != nil || len(hw) != 6 {
			return spec, fmt.Errorf("%s %q: want an Ethernet MAC such as 02:00:00:00:00:01", m.flag, m.val)
		}
		*m.to = hw
	}
	return spec, nil
}

const countSynopsis = "count --iface IF --marker M[,M...] [--for 10s]"

const countDescription = `Count the probe frames (of any kind "frames" sends, or inside "vxlan"
datagrams once decapsulated) with each marker M that arrive on interface IF
during --for (frames the interface sends are not counted). Writes
"listening on IF" to stderr once it listens, then one line "M COUNT" per
marker to stdout. Exits 1 if it lost frames for want of buffer space (the
counts would not be exact).`

func runCount(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet(countSynopsis, countDescription, stderr)
	iface := fs.String("iface", "", "interface to listen on (required)")
	markers := fs.String("marker", "", "comma-separated markers of the frames to count (required)")
	dur := fs.Duration("for", 10*time.Second, "how long to count")
	if err := parseArgs(fs, args, 0); err != nil {
		return err
	}
	if *iface == "" || *markers == "" {
		fmt.Fprintln(stderr, "netcheck count: give --iface and --marker")
		fs.Usage()
		return errUsage
	}
	c, err := netcheck.ListenFrames(*iface)
	if err != nil {
		return err
	}
	fmt.Fprintf(stderr, "listening on %s\n", *iface)
	ctx, cancel := context.WithTimeout(ctx, *dur)
	defer cancel()
	if err := c.Run(ctx); err != nil {
		return err
	}
	for _, m := range strings.Split(*markers, ",") {
		fmt.Fprintf(stdout, "%s %d\n", m, c.Count(m))
	}
	if d := c.Drops(); d > 0 {
		return fmt.Errorf("lost %d frames for want of buffer space: the counts are not exact", d)
	}
	return nil
}
