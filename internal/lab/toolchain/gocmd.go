package toolchain

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
)

// goCmd runs the go command inside one throwaway module.
type goCmd struct {
	dir string    // module directory
	env []string  // extra environment, applied last
	log io.Writer // receives the command lines and all output
}

// run runs "go args..." in g.dir. The environment keeps the caller's Go
// settings, never lets a go.work file pull the module into a workspace,
// and refuses toolchain downloads unless GOTOOLCHAIN says otherwise.
func (g goCmd) run(ctx context.Context, args ...string) error {
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir = g.dir
	cmd.Env = append([]string{"GOTOOLCHAIN=local"}, os.Environ()...)
	cmd.Env = append(cmd.Env, "GOWORK=off")
	cmd.Env = append(cmd.Env, g.env...)
	cmd.Stdout = g.log
	cmd.Stderr = g.log
	fmt.Fprintf(g.log, "$ cd %s && %s go %s\n", g.dir, strings.Join(g.env, " "), shellWords(args))
	if err := cmd.Run(); err != nil {
		fmt.Fprintf(g.log, "# %v\n", err)
		return fmt.Errorf("run go %s: %w", args[0], err)
	}
	return nil
}

// shellWords joins args for a log line that can be pasted into a shell.
func shellWords(args []string) string {
	quoted := make([]string, len(args))
	for i, a := range args {
		quoted[i] = a
		if a == "" || strings.ContainsAny(a, " \t\n'\"$\\") {
			quoted[i] = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
		}
	}
	return strings.Join(quoted, " ")
}

// tailLines is how much of a failed build's log tailLog repeats.
const tailLines = 15

// tailLog copies the last lines of the log file at path to out, so that a
// failure is readable without opening the log.
func tailLog(out io.Writer, path string) {
	data, err := os.ReadFile(path)
	if err != nil {
		return
	}
	lines := bytes.Split(bytes.TrimRight(data, "\n"), []byte("\n"))
	if len(lines) > tailLines {
		lines = lines[len(lines)-tailLines:]
	}
	fmt.Fprintf(out, "last lines of %s:\n", path)
	for _, line := range lines {
		fmt.Fprintf(out, "  %s\n", line)
	}
}
