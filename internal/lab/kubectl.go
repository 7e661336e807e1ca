package lab

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os/exec"
	"strings"
	"time"
)

// The host namespace has no address on any lab network, so kubectl runs in
// the cluster's control-plane namespace, where the API server listens.

func (l *lab) kubectl(ctx context.Context, cluster string, args ...string) ([]byte, error) {
	return l.kubectlIn(ctx, cluster, nil, args...)
}

func (l *lab) kubectlIn(ctx context.Context, cluster string, stdin io.Reader, args ...string) ([]byte, error) {
	c, err := l.topo.Cluster(cluster)
	if err != nil {
		return nil, err
	}
	cmd := kubectlCmd(ctx, l.bin.k8s("kubectl"), c.NetNS, l.kubeconfig(c.Name), args...)
	var out, errb bytes.Buffer
	cmd.Stdin, cmd.Stdout, cmd.Stderr = stdin, &out, &errb
	if err := cmd.Run(); err != nil {
		return out.Bytes(), fmt.Errorf("kubectl %s (cluster %s): %s: %w", strings.Join(args, " "), cluster, strings.TrimSpace(errb.String()), err)
	}
	return out.Bytes(), nil
}

func kubectlCmd(ctx context.Context, kubectl, netNS, kubeconfig string, args ...string) *exec.Cmd {
	argv := append([]string{"--net=" + netnsPath(netNS), "--", kubectl, "--kubeconfig=" + kubeconfig}, args...)
	return exec.CommandContext(ctx, "nsenter", argv...)
}

// poll calls cond every 250 ms until it returns true, the timeout passes,
// or one of procs exits; the error then says what was awaited and which
// log to read.
func (l *lab) poll(ctx context.Context, timeout time.Duration, what string, procs []*started, cond func() (bool, error)) error {
	deadline := time.Now().Add(timeout)
	for {
		ok, err := cond()
		if err != nil {
			return fmt.Errorf("waiting for %s: %w", what, err)
		}
		if ok {
			return nil
		}
		for _, p := range procs {
			select {
			case <-p.exited:
				return fmt.Errorf("waiting for %s: %s exited (%v); read %s; its last lines:\n%s",
					what, p.Name, *p.status, p.Log, tail(p.Log, 15))
			default:
			}
		}
		if time.Now().After(deadline) {
			logs := make([]string, 0, len(procs))
			for _, p := range procs {
				logs = append(logs, p.Log)
			}
			return fmt.Errorf("timed out after %s waiting for %s; read %s", timeout, what, strings.Join(logs, ", "))
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(250 * time.Millisecond):
		}
	}
}
