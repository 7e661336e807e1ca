package wireguard

import (
	"bufio"
	"encoding/hex"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"golang.zx2c4.com/wireguard/wgctrl/wgtypes"
)

// uapiSet writes c in the "set" operation of WireGuard's cross-platform
// configuration protocol (https://www.wireguard.com/xplatform/), as
// wireguard-go's IpcSet reads it. It is a pure function.
func uapiSet(c wgtypes.Config) string {
	var b strings.Builder
	line := func(k, v string) { b.WriteString(k + "=" + v + "\n") }
	if c.PrivateKey != nil {
		line("private_key", hex.EncodeToString(c.PrivateKey[:]))
	}
	if c.ListenPort != nil {
		line("listen_port", strconv.Itoa(*c.ListenPort))
	}
	if c.FirewallMark != nil {
		line("fwmark", strconv.Itoa(*c.FirewallMark))
	}
	if c.ReplacePeers {
		line("replace_peers", "true")
	}
	for _, p := range c.Peers {
		line("public_key", hex.EncodeToString(p.PublicKey[:]))
		if p.Remove {
			line("remove", "true")
			continue
		}
		if p.UpdateOnly {
			line("update_only", "true")
		}
		if p.PresharedKey != nil {
			line("preshared_key", hex.EncodeToString(p.PresharedKey[:]))
		}
		if p.Endpoint != nil {
			line("endpoint", p.Endpoint.AddrPort().String())
		}
		if p.PersistentKeepaliveInterval != nil {
			line("persistent_keepalive_interval", strconv.Itoa(int(*p.PersistentKeepaliveInterval/time.Second)))
		}
		if p.ReplaceAllowedIPs {
			line("replace_allowed_ips", "true")
		}
		for _, n := range p.AllowedIPs {
			line("allowed_ip", n.String())
		}
	}
	return b.String()
}

// uapiGet reads the answer to the "get" operation (as wireguard-go's
// IpcGet writes it) into a wgtypes.Device. Keys it does not know are
// ignored, as the protocol asks.
func uapiGet(s string) (*wgtypes.Device, error) {
	d := &wgtypes.Device{Type: wgtypes.Userspace}
	var peer *wgtypes.Peer
	sc := bufio.NewScanner(strings.NewReader(s))
	for sc.Scan() {
		if sc.Text() == "" {
			continue
		}
		k, v, ok := strings.Cut(sc.Text(), "=")
		if !ok {
			return nil, fmt.Errorf("read device state: line %q is not key=value", sc.Text())
		}
		if err := uapiField(d, &peer, k, v); err != nil {
			return nil, fmt.Errorf("read device state: %s: %w", k, err)
		}
	}
	return d, sc.Err()
}

func uapiField(d *wgtypes.Device, peer **wgtypes.Peer, k, v string) error {
	var err error
	switch k {
	case "private_key":
		d.PrivateKey, err = hexKey(v)
		d.PublicKey = d.PrivateKey.PublicKey()
	case "listen_port":
		d.ListenPort, err = strconv.Atoi(v)
	case "fwmark":
		d.FirewallMark, err = strconv.Atoi(v)
	case "public_key":
		var pk wgtypes.Key
		if pk, err = hexKey(v); err == nil {
			d.Peers = append(d.Peers, wgtypes.Peer{PublicKey: pk})
			*peer = &d.Peers[len(d.Peers)-1]
		}
	case "errno":
		if v != "0" {
			err = fmt.Errorf("the device answered errno %s", v)
		}
	default:
		if *peer == nil {
			return nil
		}
		err = uapiPeerField(*peer, k, v)
	}
	return err
}

func uapiPeerField(p *wgtypes.Peer, k, v string) error {
	var err error
	switch k {
	case "endpoint":
		var ap netip.AddrPort
		if ap, err = netip.ParseAddrPort(v); err == nil {
			p.Endpoint = net.UDPAddrFromAddrPort(ap)
		}
	case "persistent_keepalive_interval":
		var n int
		n, err = strconv.Atoi(v)
		p.PersistentKeepaliveInterval = time.Duration(n) * time.Second
	case "allowed_ip":
		var pr netip.Prefix
		if pr, err = netip.ParsePrefix(v); err == nil {
			p.AllowedIPs = append(p.AllowedIPs, ipNets([]netip.Prefix{pr})...)
		}
	case "rx_bytes":
		p.ReceiveBytes, err = strconv.ParseInt(v, 10, 64)
	case "tx_bytes":
		p.TransmitBytes, err = strconv.ParseInt(v, 10, 64)
	case "last_handshake_time_sec":
		var sec int64
		if sec, err = strconv.ParseInt(v, 10, 64); err == nil && sec != 0 {
			p.LastHandshakeTime = time.Unix(sec, int64(p.LastHandshakeTime.Nanosecond()))
		}
	case "last_handshake_time_nsec":
		var ns int64
		if ns, err = strconv.ParseInt(v, 10, 64); err == nil && !p.LastHandshakeTime.IsZero() {
			p.LastHandshakeTime = time.Unix(p.LastHandshakeTime.Unix(), ns)
		}
	case "protocol_version":
		p.ProtocolVersion, err = strconv.Atoi(v)
	}
	return err
}

func hexKey(v string) (wgtypes.Key, error) {
	b, err := hex.DecodeString(v)
	if err != nil {
		return wgtypes.Key{}, err
	}
	return wgtypes.NewKey(b)
}
