// Command netcheck is the lab's test workload: it serves HTTP, a
// checksumming TCP sink, a discard and an echo service, and is the HTTP
// and TCP client that checks them and measures throughput and
// request/response rate; it resolves names as a pod's applications do;
// it also sends and counts probe frames, raw or inside VXLAN datagrams.
// The logic lives in switchboard/internal/netcheck.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
)

// command is one netcheck subcommand.
type command struct {
	summary string
	run     func(ctx context.Context, args []string, stdout, stderr io.Writer) error
}

var commands = map[string]command{
	"serve":   {serveSynopsis, runServe},
	"get":     {getSynopsis, runGet},
	"resolve": {resolveSynopsis, runResolve},
	"send":    {sendSynopsis, runSend},
	"rr":      {rrSynopsis, runRR},
	"vxlan":   {vxlanSynopsis, runVXLAN},
	"frames":  {framesSynopsis, runFrames},
	"count":   {countSynopsis, runCount},
	"version": {versionSynopsis, runVersion},
}

// errUsage marks errors already reported to the user with usage text.
var errUsage = errors.New("usage error")

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run executes the command line args and returns the exit status: 0 on
// success or -h, 1 on failure, 2 on a usage error.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		usage(stderr)
		return 2
	}
	switch args[0] {
	case "-h", "-help", "--help", "help":
		usage(stdout)
		return 0
	}
	cmd, ok := commands[args[0]]
	if !ok {
		fmt.Fprintf(stderr, "netcheck: unknown command %q\n\n", args[0])
		usage(stderr)
		return 2
	}
	err := cmd.run(ctx, args[1:], stdout, stderr)
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
		return 0
	case errors.Is(err, errUsage):
		return 2
	default:
		fmt.Fprintf(stderr, "netcheck %s: %v\n", args[0], err)
		return 1
	}
}

func usage(w io.Writer) {
	fmt.Fprint(w, "usage: netcheck <command> [flags] [args]\n\ncommands:\n")
	for _, name := range []string{"serve", "get", "resolve", "send", "rr", "vxlan", "frames", "count", "version"} {
		fmt.Fprintf(w, "  netcheck %s\n", commands[name].summary)
	}
	fmt.Fprint(w, "\nRun 'netcheck <command> -h' for details.\n")
}

// newFlagSet returns a FlagSet for the command whose synopsis starts with
// its name; the usage text shows the synopsis and description.
func newFlagSet(synopsis, description string, stderr io.Writer) *flag.FlagSet {
	name, _, _ := strings.Cut(synopsis, " ")
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: netcheck %s\n\n%s\n", synopsis, description)
		var hasFlags bool
		fs.VisitAll(func(*flag.Flag) { hasFlags = true })
		if hasFlags {
			fmt.Fprint(stderr, "\nflags:\n")
			fs.PrintDefaults()
		}
	}
	return fs
}

// parseArgs parses args into fs and checks that exactly nargs positional
// arguments remain. Errors are reported on stderr with the usage text.
func parseArgs(fs *flag.FlagSet, args []string, nargs int) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return errUsage
	}
	if fs.NArg() != nargs {
		fmt.Fprintf(fs.Output(), "netcheck %s: want %d argument(s), got %d: %q\n",
			fs.Name(), nargs, fs.NArg(), fs.Args())
		fs.Usage()
		return errUsage
	}
	return nil
}
