package netcheck

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"
)

// shutdownGrace bounds how long in-flight HTTP requests may take once
// Serve is asked to stop.
const shutdownGrace = 5 * time.Second

// Listeners are the sockets Serve serves on; a nil one skips that server.
type Listeners struct {
	HTTP    net.Listener // the HTTP API, see NewHandler
	Sink    net.Listener // the checksumming TCP sink, see ServeSink
	Discard net.Listener // the discard service, see ServeDiscard
	Echo    net.Listener // the echo service, see ServeEcho
}

// Serve runs a server on each of ls's listeners until ctx is done or one of
// them fails, which stops the others. Serve closes the listeners and
// returns nil after a clean shutdown, else the first error.
func Serve(ctx context.Context, ls Listeners, log *slog.Logger) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	servers := []struct {
		ln    net.Listener
		serve func(context.Context, net.Listener, *slog.Logger) error
	}{{ls.HTTP, serveHTTP}, {ls.Sink, ServeSink}, {ls.Discard, ServeDiscard}, {ls.Echo, ServeEcho}}
	errs := make(chan error, len(servers))
	running := 0
	for _, s := range servers {
		if s.ln != nil {
			running++
			go func() { errs <- s.serve(ctx, s.ln, log) }()
		}
	}
	var first error
	for ; running > 0; running-- {
		if err := <-errs; err != nil && first == nil {
			first = err
		}
		cancel()
	}
	return first
}

// serveHTTP serves NewHandler on ln until ctx is done, then shuts down
// gracefully and returns nil.
func serveHTTP(ctx context.Context, ln net.Listener, log *slog.Logger) error {
	srv := &http.Server{Handler: NewHandler(LocalInfo, log), ReadHeaderTimeout: 10 * time.Second}
	shutdown := make(chan struct{})
	go func() {
		defer close(shutdown)
		<-ctx.Done()
		sctx, scancel := context.WithTimeout(context.Background(), shutdownGrace)
		defer scancel()
		if srv.Shutdown(sctx) != nil {
			srv.Close()
		}
	}()
	err := srv.Serve(ln)
	if errors.Is(err, http.ErrServerClosed) {
		<-shutdown
		return nil
	}
	return fmt.Errorf("serve http on %s: %w", ln.Addr(), err)
}
