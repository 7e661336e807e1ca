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
	"os/exec"
	"strings"
	"sync"
	"time"

	"switchboard/internal/lab/kube"
)

// addressWatch is a kubectl watch on the namespace's pods that notes when
// each pod first shows an address on net1. It reads the network-status
// annotation, which Multus writes as soon as the CNI ADD has returned,
// rather than pod readiness, which also waits for the container to start.
type addressWatch struct {
	cmd    *exec.Cmd
	cancel context.CancelFunc
	done   chan error // the decoder's end: nil once every pod is seen
	mu     sync.Mutex
	seen   map[string]time.Time // when each pod was first seen addressed
	want   int                  // how many pods the round made
}

// errTimeLimit says that not every pod had an address in time.
var errTimeLimit = errors.New("not every pod had an address within the time limit")

// watchAddresses starts the watch and returns once kubectl's watch request
// has been answered (its -v=6 log says so), so that every event after that
// is seen as it happens. A watch started from the list never misses an
// event in between either: kubectl watches from the list's resourceVersion.
func watchAddresses(ctx context.Context, k *kube.Cluster, ns string, want int) (*addressWatch, error) {
	wctx, cancel := context.WithCancel(ctx)
	cmd, err := handle.KubectlCmd(wctx, k.Name, "get", "pods", "-n", ns, "-l", "app=alloc", "--watch", "-o", "json", "-v=6")
	if err != nil {
		cancel()
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		cancel()
		return nil, err
	}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		cancel()
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		cancel()
		return nil, fmt.Errorf("start kubectl watch: %w", err)
	}
	w := &addressWatch{cmd: cmd, cancel: cancel, done: make(chan error, 1), seen: map[string]time.Time{}, want: want}
	established := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 64*1024), 1024*1024)
		once := false
		for sc.Scan() {
			if !once && strings.Contains(sc.Text(), "watch=true") && strings.Contains(sc.Text(), "200 OK") {
				once = true
				close(established)
			}
		}
		_, _ = io.Copy(io.Discard, stderr)
	}()
	go func() {
		dec := json.NewDecoder(stdout)
		for {
			var p podMeta
			if err := dec.Decode(&p); err != nil {
				w.done <- fmt.Errorf("watch ended with %d of %d pods addressed: %w", len(w.snapshot()), w.want, err)
				return
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
				w.done <- nil
				return
			}
		}
	}()
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
	_ = w.cmd.Wait()
}
