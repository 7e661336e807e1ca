package wireguard

import (
	"net/netip"
	"testing"
	"time"
)

// As wireguard-go's IpcGet writes it (keys shortened to one repeated byte).
func TestUAPIGetReadsWireGuardGoOutput(t *testing.T) {
	pk, pa := testKey(1), testKey(0xaa)
	in := "private_key=" + hexOf(pk) + "\nlisten_port=51820\n" +
		"public_key=" + hexOf(pa) + "\npreshared_key=" + hexOf(testKey(0)) + "\nprotocol_version=1\n" +
		"endpoint=198.18.0.1:51820\nlast_handshake_time_sec=1700000000\nlast_handshake_time_nsec=5\n" +
		"tx_bytes=100\nrx_bytes=200\npersistent_keepalive_interval=25\n" +
		"allowed_ip=fd00::1/128\nallowed_ip=10.0.0.0/8\nerrno=0\n"
	d, err := uapiGet(in)
	if err != nil {
		t.Fatal(err)
	}
	if d.PrivateKey != pk || d.PublicKey != pk.PublicKey() || d.ListenPort != 51820 || len(d.Peers) != 1 {
		t.Fatalf("device %+v", d)
	}
	p := d.Peers[0]
	if p.PublicKey != pa || p.Endpoint.String() != "198.18.0.1:51820" || p.PersistentKeepaliveInterval != 25*time.Second ||
		p.TransmitBytes != 100 || p.ReceiveBytes != 200 || !p.LastHandshakeTime.Equal(time.Unix(1700000000, 5)) {
		t.Fatalf("peer %+v", p)
	}
	st := fromDevice(d).Peers[pa]
	want := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("fd00::1/128")}
	if len(st.AllowedIPs) != 2 || st.AllowedIPs[0] != want[0] || st.AllowedIPs[1] != want[1] {
		t.Fatalf("allowed IPs %v, want %v", st.AllowedIPs, want)
	}
	if _, err := uapiGet("errno=1\n"); err == nil {
		t.Error("errno=1 was not an error")
	}
	if _, err := uapiGet("garbage\n"); err == nil {
		t.Error("a line without = was not an error")
	}
}
