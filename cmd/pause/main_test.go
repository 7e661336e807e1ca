package main

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The test binary doubles as pause when this variable is set. It prints a
// line once its signal handlers are in place: "ready", or in mode "child"
// the pid of a short-lived child it started, which pause must reap.
const modeEnv = "SWITCHBOARD_PAUSE_TEST_MODE"

func TestMain(m *testing.M) {
	mode := os.Getenv(modeEnv)
	if mode == "" {
		os.Exit(m.Run())
	}
	sigs := notify()
	line := "ready"
	if mode == "child" {
		p, err := os.StartProcess("/bin/sleep", []string{"sleep", "0.2"}, &os.ProcAttr{})
		if err != nil {
			fmt.Println("start child:", err)
			os.Exit(3)
		}
		line = strconv.Itoa(p.Pid)
	}
	fmt.Println(line)
	wait(sigs)
}

// startPause starts the test binary as pause and returns it with the line
// it printed when ready.
func startPause(t *testing.T, mode string) (*exec.Cmd, string) {
	t.Helper()
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), modeEnv+"="+mode)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		t.Fatalf("read ready line of pause: %v", err)
	}
	return cmd, strings.TrimSpace(line)
}

func TestExitsZeroOnSignal(t *testing.T) {
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGINT} {
		cmd, _ := startPause(t, "ready")
		if err := cmd.Process.Signal(sig); err != nil {
			t.Fatal(err)
		}
		if err := cmd.Wait(); err != nil {
			t.Errorf("pause after %v: %v, want exit 0", sig, err)
		}
	}
}

func TestReapsChildren(t *testing.T) {
	_, line := startPause(t, "child")
	pid, err := strconv.Atoi(line)
	if err != nil {
		t.Fatalf("pause printed %q, want a child pid", line)
	}
	proc := fmt.Sprintf("/proc/%d", pid)
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if _, err := os.Stat(proc); os.IsNotExist(err) {
			return // the child exited and pause reaped it
		}
	}
	stat, _ := os.ReadFile(proc + "/stat")
	t.Errorf("child %d of pause was not reaped: %s", pid, stat)
}
