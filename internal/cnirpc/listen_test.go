package cnirpc_test

import (
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"switchboard/internal/cnirpc"
	"switchboard/internal/cnirpc/cnirpctest"
)

func TestListenCreatesPrivateDirAndSocket(t *testing.T) {
	dir := filepath.Join(cnirpctest.ShortTempDir(t), "run")
	socket := filepath.Join(dir, "cni.sock")
	l, err := cnirpc.Listen(socket)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	assertMode(t, dir, os.ModeDir|0o700)
	assertMode(t, socket, os.ModeSocket|0o600)
}

func TestListenReplacesStaleSocket(t *testing.T) {
	socket := filepath.Join(cnirpctest.ShortTempDir(t), "cni.sock")
	old, err := net.Listen("unix", socket)
	if err != nil {
		t.Fatal(err)
	}
	old.(*net.UnixListener).SetUnlinkOnClose(false)
	old.Close() // the agent died: the file stays, nobody answers
	if _, err := os.Lstat(socket); err != nil {
		t.Fatalf("stale socket not left behind: %v", err)
	}

	l, err := cnirpc.Listen(socket)
	if err != nil {
		t.Fatalf("Listen over a stale socket: %v", err)
	}
	defer l.Close()
	assertMode(t, socket, os.ModeSocket|0o600)
}

func TestListenRefuses(t *testing.T) {
	t.Run("a socket in use", func(t *testing.T) {
		socket := filepath.Join(cnirpctest.ShortTempDir(t), "cni.sock")
		live, err := cnirpc.Listen(socket)
		if err != nil {
			t.Fatal(err)
		}
		defer live.Close()
		_, err = cnirpc.Listen(socket)
		if err == nil || !strings.Contains(err.Error(), "another process is serving on it") {
			t.Errorf("Listen over a live socket = %v, want refusal", err)
		}
	})
	t.Run("a regular file", func(t *testing.T) {
		path := filepath.Join(cnirpctest.ShortTempDir(t), "cni.sock")
		if err := os.WriteFile(path, []byte("keep me"), 0o600); err != nil {
			t.Fatal(err)
		}
		_, err := cnirpc.Listen(path)
		if err == nil || !strings.Contains(err.Error(), "is not a socket") {
			t.Errorf("Listen over a regular file = %v, want refusal", err)
		}
		if data, _ := os.ReadFile(path); string(data) != "keep me" {
			t.Error("Listen clobbered a regular file")
		}
	})
}

func assertMode(t *testing.T, path string, want os.FileMode) {
	t.Helper()
	fi, err := os.Lstat(path)
	if err != nil {
		t.Fatal(err)
	}
	if got := fi.Mode(); got != want {
		t.Errorf("mode of %s = %v, want %v", path, got, want)
	}
}
