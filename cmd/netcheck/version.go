package main

import (
	"context"
	"fmt"
	"io"
	"runtime/debug"
	"strings"
)

const versionSynopsis = "version"

func runVersion(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet(versionSynopsis, "Print the version of netcheck and the Go toolchain that built it.", stderr)
	if err := parseArgs(fs, args, 0); err != nil {
		return err
	}
	fmt.Fprintln(stdout, version())
	return nil
}

// version describes the binary from its embedded build information, e.g.
// "netcheck (devel) rev 0123456789ab+dirty go1.26.8".
func version() string {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return "netcheck unknown"
	}
	parts := []string{"netcheck", info.Main.Version}
	if parts[1] == "" {
		parts[1] = "(devel)"
	}
	var rev, dirty string
	for _, s := range info.Settings {
		switch {
		case s.Key == "vcs.revision":
			rev = s.Value[:min(12, len(s.Value))]
		case s.Key == "vcs.modified" && s.Value == "true":
			dirty = "+dirty"
		}
	}
	if rev != "" {
		parts = append(parts, "rev "+rev+dirty)
	}
	return strings.Join(append(parts, info.GoVersion), " ")
}
