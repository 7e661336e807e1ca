package netnstest

import (
	"bytes"
	"io"
	"net"
	"net/netip"
	"testing"
	"time"
)

// Transfer sends payload over TCP from namespace from to dst (an address
// of namespace to, port 7000) and fails the test unless every byte
// arrived, in order. Each side gives up after a minute.
func Transfer(t testing.TB, from, to *NS, dst netip.Addr, payload []byte) {
	t.Helper()
	addr := netip.AddrPortFrom(dst, 7000).String()
	var ln net.Listener
	if err := to.Do(func() (err error) {
		ln, err = net.Listen("tcp", addr)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	got := make(chan []byte, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			got <- nil
			return
		}
		defer c.Close()
		_ = c.SetDeadline(time.Now().Add(time.Minute))
		b, _ := io.ReadAll(c)
		got <- b
	}()
	err := from.Do(func() error {
		c, err := (&net.Dialer{Timeout: 10 * time.Second}).Dial("tcp", addr)
		if err != nil {
			return err
		}
		defer c.Close()
		_ = c.SetDeadline(time.Now().Add(time.Minute))
		_, err = c.Write(payload)
		return err
	})
	if err != nil {
		t.Fatalf("send %d bytes from %s to %s: %v", len(payload), from.Name, addr, err)
	}
	if b := <-got; !bytes.Equal(b, payload) {
		t.Fatalf("%s received %d bytes, or other bytes, of the %d sent", addr, len(b), len(payload))
	}
}
