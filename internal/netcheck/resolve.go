package netcheck

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"slices"
)

// ErrNotFound is wrapped by Resolve's error when the name does not exist
// (NXDOMAIN, or no address of any kind) under every name the search path
// makes of it.
var ErrNotFound = errors.New("NXDOMAIN: no such name")

// NewResolver returns the resolver Resolve uses: Go's own stub resolver,
// which reads /etc/resolv.conf (nameservers, search path, ndots) as a
// pod's applications do, or, when server is not empty, sends every query
// to server (host:port) instead of the nameservers there.
func NewResolver(server string) *net.Resolver {
	r := &net.Resolver{PreferGo: true}
	if server != "" {
		r.Dial = func(ctx context.Context, network, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, network, server)
		}
	}
	return r
}

// Resolve looks name up with r and writes its addresses to w, sorted, one
// per line. A name that does not exist is an error wrapping ErrNotFound;
// any other failure (a server that fails or does not answer) is not.
func Resolve(ctx context.Context, r *net.Resolver, name string, w io.Writer) error {
	addrs, err := r.LookupHost(ctx, name)
	if err != nil {
		var derr *net.DNSError
		if errors.As(err, &derr) && derr.IsNotFound {
			return fmt.Errorf("resolve %q: %w", name, ErrNotFound)
		}
		return fmt.Errorf("resolve %q: %w", name, err)
	}
	slices.Sort(addrs)
	for _, a := range addrs {
		if _, err := fmt.Fprintln(w, a); err != nil {
			return err
		}
	}
	return nil
}
