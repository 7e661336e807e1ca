package lab

import (
	"fmt"
	"io"
	"sync"
	"time"
)

// progress prints one line per step with the time since the start, so that
// a slow step stands out. It is safe for concurrent use.
type progress struct {
	mu    sync.Mutex
	w     io.Writer
	start time.Time
}

func newProgress(w io.Writer) *progress {
	if w == nil {
		w = io.Discard
	}
	return &progress{w: w, start: time.Now()}
}

func (p *progress) printf(format string, args ...any) {
	p.mu.Lock()
	defer p.mu.Unlock()
	fmt.Fprintf(p.w, "[%6.1fs] %s\n", time.Since(p.start).Seconds(), fmt.Sprintf(format, args...))
}

// step announces a step and returns the function that reports its end.
func (p *progress) step(format string, args ...any) func(err error) {
	what := fmt.Sprintf(format, args...)
	began := time.Now()
	p.printf("▸ %s", what)
	return func(err error) {
		if err != nil {
			p.printf("✗ %s: failed after %.1fs", what, time.Since(began).Seconds())
			return
		}
		p.printf("✓ %s (%.1fs)", what, time.Since(began).Seconds())
	}
}

// writer is an io.Writer for sub-tools (builds) whose lines get the same prefix.
func (p *progress) writer() io.Writer { return progressWriter{p} }

type progressWriter struct{ p *progress }

func (w progressWriter) Write(b []byte) (int, error) {
	for _, line := range splitLines(string(b)) {
		w.p.printf("  %s", line)
	}
	return len(b), nil
}

func splitLines(s string) []string {
	var out []string
	start := 0
	for i := 0; i < len(s); i++ {
		if s[i] == '\n' {
			if i > start {
				out = append(out, s[start:i])
			}
			start = i + 1
		}
	}
	if start < len(s) {
		out = append(out, s[start:])
	}
	return out
}
