//go:build e2e

package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"strings"
	"sync"
	"time"

	"switchboard/internal/lab/kube"
)

// addressWatch is a kubectl watch on the namespace's pods that notes when
// each pod first shows an address on net1. It reads the network-status
// annotation, which Multus writes as soon as the CNI ADD has returned,
// rather than pod readiness, which also waits for the container to start.
// The API server may end a watch (one whose client falls behind, say, when
// a loaded machine slows kubectl down under hundreds of pods' events): the
// watch is then started again, and its first listing catches up, timing a
// pod addressed in the gap at the moment it is listed (a little late, never
// early).
type addressWatch struct {
	cancel   context.CancelFunc
	ended    chan struct{} // the watching goroutine has returned
	done     chan error    // nil once every pod is seen; the error if the first watch failed
	mu       sync.Mutex
	seen     map[string]time.Time // when each pod was first seen addressed
	want     int                  // how many pods the round made
	restarts int                  // watches started again after the API server ended one
}

// errTimeLimit says that not every pod had an address in time.
var errTimeLimit = errors.New("not every pod had an address within the time limit")

// watchAddresses starts the watch and returns once kubectl's watch request
// has been answered (its -v=6 log says so), so that every event after that
// is seen as it happens. A watch started from the list never misses an
// event in between either: kubectl watches from the list's resourceVersion.
func watchAddresses(ctx context.Context, k *kube.Cluster, ns string, want int) (*addressWatch, error) {
	wctx, cancel := context.WithCancel(ctx)
	w := &addressWatch{cancel: cancel, ended: make(chan struct{}), done: make(chan error, 1), seen: map[string]time.Time{}, want: want}
	established := make(chan struct{})
	go w.loop(wctx, k, ns, established)
	select {
	case <-established:
		return w, nil
	case err := <-w.done:
		w.stop()
		return nil, fmt.Errorf("kubectl watch: %w", err)
	case <-time.After(2 * time.Minute):
		w.stop()
		return nil, errors.New("kubectl watch was not established within 2 minutes")
	}
}

// loop runs kubectl watches until every pod is seen or ctx ends, starting
// a new one whenever the API server ends the last.
func (w *addressWatch) loop(ctx context.Context, k *kube.Cluster, ns string, established chan struct{}) {
	defer close(w.ended)
	var once sync.Once
	up := func() { once.Do(func() { close(established) }) }
	for {
		err := w.watchOnce(ctx, k, ns, up)
		switch {
		case err == nil:
			w.done <- nil
			return
		case ctx.Err() != nil:
			return
		}
		select {
		case <-established:
		default: // the first watch never came up: that is the caller's error
			w.done <- err
			return
		}
		w.mu.Lock()
		w.restarts++
		w.mu.Unlock()
		fmt.Printf("  (kubectl watch of %s ended with %d of %d pods addressed: %v; watching again)\n", ns, len(w.snapshot()), w.want, err)
		select {
		case <-ctx.Done():
			return
		case <-time.After(time.Second):
		}
	}
}

// watchOnce runs one kubectl watch, calling up once kubectl's watch request
// is answered. It returns nil once every pod is seen, else why the watch
// ended.
func (w *addressWatch) watchOnce(ctx context.Context, k *kube.Cluster, ns string, up func()) error {
	cmd, err := handle.KubectlCmd(ctx, k.Name, "get", "pods", "-n", ns, "-l", "app=alloc", "--watch", "-o", "json", "-v=6")
	if err != nil {
		return err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return err
	}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start kubectl watch: %w", err)
	}
	defer func() { _ = cmd.Wait() }()
	go func() {
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 64*1024), 1024*1024)
		for sc.Scan() {
			if strings.Contains(sc.Text(), "watch=true") && strings.Contains(sc.Text(), "200 OK") {
				up()
			}
		}
		_, _ = io.Copy(io.Discard, stderr)
	}()
	dec := json.NewDecoder(stdout)
	for {
		var p podMeta
		if err := dec.Decode(&p); err != nil {
			_ = cmd.Process.Kill()
			return fmt.Errorf("watch ended with %d of %d pods addressed: %w", len(w.snapshot()), w.want, err)
		}
		if net1Address(p) == "" {
			continue
		}
		w.mu.Lock()
		if _, ok := w.seen[p.Metadata.Name]; !ok {
			w.seen[p.Metadata.Name] = time.Now()
		}
		n := len(w.seen)
		w.mu.Unlock()
		if n == w.want {
			_ = cmd.Process.Kill()
			return nil
		}
	}
}

// snapshot returns a copy of when each pod was first seen addressed.
func (w *addressWatch) snapshot() map[string]time.Time {
	w.mu.Lock()
	defer w.mu.Unlock()
	return maps.Clone(w.seen)
}

// wait returns when each pod was first seen addressed, once all are. After
// timeout it returns those seen so far with errTimeLimit.
func (w *addressWatch) wait(ctx context.Context, timeout time.Duration) (map[string]time.Time, error) {
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case err := <-w.done:
		return w.snapshot(), err
	case <-t.C:
		return w.snapshot(), errTimeLimit
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// stop ends the kubectl watch; it may be called more than once.
func (w *addressWatch) stop() {
	w.cancel()
	<-w.ended
}
