package toolchain

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestParseDpkgStatus(t *testing.T) {
	out := "socat\tinstall ok installed\n" +
		"runc\tdeinstall ok config-files\n" +
		"iptables\thold ok installed\n" +
		"conntrack\tinstall ok unpacked\n" +
		"libfoo\tdeinstall ok config-files\n" +
		"libfoo\tinstall ok installed\n" +
		"garbage line\n\n"
	want := map[string]bool{"socat": true, "runc": false, "iptables": true, "conntrack": false, "libfoo": true}
	if got := parseDpkgStatus([]byte(out)); !reflect.DeepEqual(got, want) {
		t.Errorf("parseDpkgStatus() = %v, want %v", got, want)
	}
}

// recorder is a commander that answers dpkg-query from a canned status and
// records every command as a line of text.
type recorder struct {
	status  string
	failOn  string // a Run whose command line contains this fails
	history []string
}

func (r *recorder) Output(_ context.Context, name string, args ...string) ([]byte, error) {
	r.history = append(r.history, name+" "+strings.Join(args, " "))
	return []byte(r.status), nil
}

func (r *recorder) Run(_ context.Context, _ io.Writer, env []string, name string, args ...string) error {
	line := strings.Join(append(append(env, name), args...), " ")
	r.history = append(r.history, line)
	if r.failOn != "" && strings.Contains(line, r.failOn) {
		return errors.New("exit status 100")
	}
	return nil
}

func TestEnsurePackages(t *testing.T) {
	const query = "dpkg-query -W -f=${Package}\t${Status}\n -- "
	status := "socat\tinstall ok installed\nrunc\tdeinstall ok config-files\n"
	tests := []struct {
		name    string
		pkgs    []string
		failOn  string
		want    []string
		wantErr string
	}{{
		name: "all present",
		pkgs: []string{"socat"},
		want: []string{query + "socat"},
	}, {
		name: "install missing only",
		pkgs: []string{"socat", "runc", "nftables", "runc"},
		want: []string{
			query + "socat runc nftables runc",
			"DEBIAN_FRONTEND=noninteractive apt-get update",
			"DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends -- runc nftables",
		},
	}, {
		name:    "install fails",
		pkgs:    []string{"runc"},
		failOn:  "install",
		wantErr: `install packages ["runc"] (see %s)`,
		want: []string{
			query + "runc",
			"DEBIAN_FRONTEND=noninteractive apt-get update",
			"DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends -- runc",
		},
	}, {
		name:    "update fails",
		pkgs:    []string{"runc"},
		failOn:  "update",
		wantErr: `update apt lists to install ["runc"] (see %s)`,
		want:    []string{query + "runc", "DEBIAN_FRONTEND=noninteractive apt-get update"},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := &recorder{status: status, failOn: tt.failOn}
			logPath := filepath.Join(t.TempDir(), "apt.log")
			err := ensurePackages(context.Background(), io.Discard, r, logPath, tt.pkgs)
			if tt.wantErr == "" && err != nil {
				t.Fatalf("ensurePackages() = %v", err)
			}
			if want := fmt.Sprintf(tt.wantErr, logPath); tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), want)) {
				t.Fatalf("ensurePackages() = %v, want error containing %q", err, want)
			}
			if !reflect.DeepEqual(r.history, tt.want) {
				t.Errorf("commands:\n%s\nwant:\n%s", strings.Join(r.history, "\n"), strings.Join(tt.want, "\n"))
			}
		})
	}
}

func TestEnsurePackagesOnHost(t *testing.T) {
	if _, err := hostCommander.Output(hostCommander{}, context.Background(), "dpkg-query", "--version"); err != nil {
		t.Skip("no dpkg-query on this host")
	}
	// dpkg itself is always installed, so nothing may be run.
	var out bytes.Buffer
	t.Setenv(CacheEnv, t.TempDir())
	if err := EnsurePackages(context.Background(), &out, "dpkg"); err != nil || out.Len() != 0 {
		t.Errorf("EnsurePackages(dpkg) = %v, output %q; want nil and no output", err, out.String())
	}
}
