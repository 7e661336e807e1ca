package edgectl

import (
	"context"
	"errors"
	"fmt"
	"time"

	"switchboard/internal/idco"
)

// ErrNoKey is RotateKey's error on an edge without WireGuard.
var ErrNoKey = errors.New("this edge runs plain VXLAN (--insecure-plain-vxlan-wan) and has no WireGuard key to rotate")

// RotateKey makes the edge's WireGuard key anew, gives the new public key
// to every provider and converges the links onto it; the remote edges
// follow as their providers tell them. It returns the new public key. Run
// must be running.
func (c *Controller) RotateKey(ctx context.Context) (string, error) {
	if c.o.Rotate == nil {
		return "", ErrNoKey
	}
	reply := make(chan rotation, 1)
	select {
	case c.rotate <- reply:
	case <-ctx.Done():
		return "", ctx.Err()
	}
	select {
	case r := <-reply:
		return r.key, r.err
	case <-ctx.Done():
		return "", ctx.Err()
	}
}

// rotateKey runs in Run: the device takes the new key, the providers learn
// it, and the next convergence (Run's, right after) moves the links' ports
// to the new tunnel address.
func (c *Controller) rotateKey(ctx context.Context) (string, error) {
	start := time.Now()
	key, err := c.o.Rotate(ctx)
	if err != nil {
		return "", fmt.Errorf("rotate the WireGuard key: %w", err)
	}
	c.key.Store(&key)
	var errs []error
	for _, p := range c.o.Providers {
		pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		err := p.IDCO.SetEdgeEndpoint(pctx, c.o.Cluster, idco.EdgeEndpointRequest{Endpoint: c.endpoint, PublicKey: key})
		cancel()
		if err != nil {
			// The provider's watcher registers the key when it next can.
			errs = append(errs, fmt.Errorf("provider %q: %w", p.Name, err))
		}
	}
	c.log.Info("rotated the WireGuard key", "publicKey", key, "took", time.Since(start), "providersFailed", len(errs))
	if len(errs) > 0 {
		return key, fmt.Errorf("the device has the new key %s, but not every provider has it yet (retried in the background): %w", key, errors.Join(errs...))
	}
	return key, nil
}
