package server

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"net/http"
	"time"
)

// Serve serves the API over TLS on ln until ctx ends, then shuts down
// gracefully (long polls are cut short). It returns nil after a clean
// shutdown.
func (s *Server) Serve(ctx context.Context, ln net.Listener, tlsConfig *tls.Config) error {
	return s.serve(ctx, ln, tlsConfig, defaultLimits())
}

// limits bound what one connection may take of the server, so that a
// client that stalls cannot hold a connection forever.
type limits struct {
	readHeader, read, write, idle time.Duration
	maxHeaderBytes                int
}

// defaultLimits are Serve's. A body (at most MaxBodyBytes) comes in one
// go; an answer may wait for the longest long poll (MaxWait).
func defaultLimits() limits {
	return limits{readHeader: 5 * time.Second, read: 30 * time.Second, write: MaxWait + 15*time.Second,
		idle: 2 * time.Minute, maxHeaderBytes: 64 << 10}
}

func (s *Server) serve(ctx context.Context, ln net.Listener, tlsConfig *tls.Config, lim limits) error {
	hs := &http.Server{
		Handler:           s.Handler(),
		TLSConfig:         tlsConfig,
		ReadHeaderTimeout: lim.readHeader,
		ReadTimeout:       lim.read,
		WriteTimeout:      lim.write,
		IdleTimeout:       lim.idle,
		MaxHeaderBytes:    lim.maxHeaderBytes,
		BaseContext:       func(net.Listener) context.Context { return ctx },
	}
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(tls.NewListener(ln, tlsConfig)) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	shut, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := hs.Shutdown(shut)
	if e := <-errc; !errors.Is(e, http.ErrServerClosed) && err == nil {
		err = e
	}
	return err
}
