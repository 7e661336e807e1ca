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

// Serve runs the HTTP API (see NewHandler) on httpLn, the TCP sink (see
// ServeSink) on tcpLn and the discard service (see ServeDiscard) on
// discardLn until ctx is done or one of them fails, which stops the others.
// Any listener may be nil to skip that server. Serve closes
// the listeners and returns nil after a clean shutdown, else the first
// error.
func Serve(ctx context.Context, httpLn, tcpLn, discardLn net.Listener, log *slog.Logger) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	errs := make(chan error, 3)
	running := 0
	if httpLn != nil {
		running++
		go func() { errs <- serveHTTP(ctx, httpLn, log) }()
	}
	if tcpLn != nil {
		running++
		go func() { errs <- ServeSink(ctx, tcpLn, log) }()
	}
	if discardLn != nil {
		running++
		go func() { errs <- ServeDiscard(ctx, discardLn, log) }()
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
