package wireguard

import (
	"fmt"
	"runtime"

	"github.com/vishvananda/netns"
)

// inNetns runs f on a locked OS thread switched into target, and switches
// the thread back afterwards. What f opens (sockets, TUN devices) stays in
// target whichever goroutine uses it later; goroutines f starts do not run
// in target. If the thread cannot be switched back, it stays locked, so
// that Go ends it with the goroutine instead of reusing it.
func inNetns(target netns.NsHandle, f func() error) error {
	runtime.LockOSThread()
	orig, err := netns.Get()
	if err != nil {
		runtime.UnlockOSThread()
		return fmt.Errorf("read this thread's network namespace: %w", err)
	}
	defer orig.Close()
	if err := netns.Set(target); err != nil {
		runtime.UnlockOSThread()
		return fmt.Errorf("enter network namespace: %w", err)
	}
	ferr := f()
	if err := netns.Set(orig); err != nil {
		return fmt.Errorf("return from network namespace (thread retired): %w", err)
	}
	runtime.UnlockOSThread()
	return ferr
}
