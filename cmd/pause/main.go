// Command pause is the sandbox process of the lab's pods. As PID 1 of the
// pod it blocks forever, reaps every child that exits, and exits 0 on
// SIGINT or SIGTERM. Build it with CGO_ENABLED=0 for a static binary.
package main

import (
	"os"
	"os/signal"
	"syscall"
)

func main() {
	wait(notify())
}

// notify subscribes to the signals pause acts on.
func notify() <-chan os.Signal {
	sigs := make(chan os.Signal, 16)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM, syscall.SIGCHLD)
	return sigs
}

// wait reaps children until SIGINT or SIGTERM arrives.
func wait(sigs <-chan os.Signal) {
	reap() // children that exited before notify sent no signal
	for sig := range sigs {
		if sig != syscall.SIGCHLD {
			return
		}
		reap()
	}
}

// reap collects every exited child without blocking; SIGCHLDs coalesce,
// so one signal may stand for many children.
func reap() {
	for {
		var ws syscall.WaitStatus
		pid, err := syscall.Wait4(-1, &ws, syscall.WNOHANG, nil)
		if err == syscall.EINTR {
			continue
		}
		if pid <= 0 || err != nil {
			return
		}
	}
}
