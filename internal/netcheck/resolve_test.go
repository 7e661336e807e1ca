package netcheck

import (
	"bytes"
	"context"
	"errors"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/dns/dnsmessage"
)

// fakeDNS is a DNS server on loopback UDP that knows a few names: A
// records from names, SERVFAIL for the names in fail, NXDOMAIN for the
// rest.
func fakeDNS(t *testing.T, names map[string][]netip.Addr, fail ...string) string {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.Close() })
	go func() {
		buf := make([]byte, 1500)
		for {
			n, from, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			if resp, err := answer(buf[:n], names, fail); err == nil {
				_, _ = pc.WriteTo(resp, from)
			}
		}
	}()
	return pc.LocalAddr().String()
}

func answer(query []byte, names map[string][]netip.Addr, fail []string) ([]byte, error) {
	var p dnsmessage.Parser
	h, err := p.Start(query)
	if err != nil {
		return nil, err
	}
	q, err := p.Question()
	if err != nil {
		return nil, err
	}
	name := q.Name.String()
	rh := dnsmessage.Header{ID: h.ID, Response: true, Authoritative: true, RCode: dnsmessage.RCodeSuccess}
	addrs, known := names[name]
	switch {
	case strings.Contains(strings.Join(fail, " "), name):
		rh.RCode = dnsmessage.RCodeServerFailure
	case !known:
		rh.RCode = dnsmessage.RCodeNameError
	}
	b := dnsmessage.NewBuilder(nil, rh)
	b.EnableCompression()
	if err := b.StartQuestions(); err != nil {
		return nil, err
	}
	if err := b.Question(q); err != nil {
		return nil, err
	}
	if err := b.StartAnswers(); err != nil {
		return nil, err
	}
	if q.Type == dnsmessage.TypeA && rh.RCode == dnsmessage.RCodeSuccess {
		for _, a := range addrs {
			rr := dnsmessage.ResourceHeader{Name: q.Name, Class: dnsmessage.ClassINET, TTL: 30}
			if err := b.AResource(rr, dnsmessage.AResource{A: a.As4()}); err != nil {
				return nil, err
			}
		}
	}
	return b.Finish()
}

func TestResolve(t *testing.T) {
	server := fakeDNS(t, map[string][]netip.Addr{
		"web.test.": {netip.MustParseAddr("10.0.0.2"), netip.MustParseAddr("10.0.0.1")},
	}, "broken.test.")
	tests := []struct {
		name     string
		want     string // output
		notFound bool
		wantErr  string
	}{
		{name: "web.test.", want: "10.0.0.1\n10.0.0.2\n"},
		{name: "nosuch.test.", notFound: true, wantErr: "NXDOMAIN"},
		{name: "broken.test.", wantErr: "server misbehaving"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			var out bytes.Buffer
			err := Resolve(ctx, NewResolver(server), tt.name, &out)
			if tt.wantErr == "" && err != nil {
				t.Fatalf("Resolve() = %v", err)
			}
			if tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
				t.Fatalf("Resolve() = %v, want an error containing %q", err, tt.wantErr)
			}
			if got := errors.Is(err, ErrNotFound); got != tt.notFound {
				t.Errorf("errors.Is(%v, ErrNotFound) = %v, want %v", err, got, tt.notFound)
			}
			if out.String() != tt.want {
				t.Errorf("output %q, want %q", out.String(), tt.want)
			}
		})
	}
}
