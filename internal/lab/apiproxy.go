package lab

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"time"

	"github.com/vishvananda/netns"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// The lab's API servers live in their clusters' control-plane namespaces,
// which the host cannot reach. Tools that talk to several clusters at once
// from the host, like `switchboard network create --contexts a,b`, go
// through the lab's API proxy instead: a daemon in the host namespace that
// listens on a free loopback port per cluster and carries each connection,
// untouched (TLS end to end), to the API server inside its namespace. It
// writes HostKubeconfig, with one context per cluster named after it; the
// API servers' certificates name 127.0.0.1.

// HostKubeconfig is the kubeconfig of the lab's API proxy.
func (h *Handle) HostKubeconfig() string { return hostKubeconfig(h.Dir) }

func hostKubeconfig(dir string) string { return filepath.Join(dir, "kubeconfig") }

// ServeAPIProxy runs the lab's API proxy until ctx ends (`switchboard lab
// api-proxy`, which Install starts).
func ServeAPIProxy(ctx context.Context, cfg Config) error {
	cfg.setDefaults()
	h, err := Open(cfg)
	if err != nil {
		return err
	}
	merged := clientcmdapi.NewConfig()
	var wg sync.WaitGroup
	defer wg.Wait()
	// Runs before wg.Wait: an error below closes the listeners opened so far.
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	for _, c := range h.Clusters {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return err
		}
		go func() { <-ctx.Done(); ln.Close() }()
		wg.Add(1)
		go func() {
			defer wg.Done()
			forward(ln, c.NetNS, c.APIIP.String()+":6443")
		}()
		kc, err := clientcmd.LoadFromFile(h.Kubeconfig(c.Name))
		if err != nil {
			return err
		}
		ctxName := kc.CurrentContext
		kctx, ok := kc.Contexts[ctxName]
		if !ok {
			return fmt.Errorf("%s has no current context", h.Kubeconfig(c.Name))
		}
		cl := *kc.Clusters[kctx.Cluster]
		cl.Server = "https://" + ln.Addr().String()
		merged.Clusters[c.Name] = &cl
		merged.AuthInfos[c.Name] = kc.AuthInfos[kctx.AuthInfo]
		merged.Contexts[c.Name] = &clientcmdapi.Context{Cluster: c.Name, AuthInfo: c.Name}
	}
	merged.CurrentContext = h.Clusters[0].Name
	tmp := hostKubeconfig(h.Dir) + ".tmp"
	if err := clientcmd.WriteToFile(*merged, tmp); err != nil {
		return err
	}
	if err := os.Rename(tmp, hostKubeconfig(h.Dir)); err != nil {
		return err
	}
	<-ctx.Done()
	return nil
}

// forward accepts connections on ln and pipes each to addr, dialled in the
// network namespace nsName, until ln is closed.
func forward(ln net.Listener, nsName, addr string) {
	for {
		in, err := ln.Accept()
		if err != nil {
			return
		}
		go func() {
			defer in.Close()
			out, err := dialIn(nsName, addr)
			if err != nil {
				fmt.Fprintf(os.Stderr, "api-proxy: %v\n", err)
				return
			}
			defer out.Close()
			done := make(chan struct{}, 2)
			pipe := func(dst, src net.Conn) {
				_, _ = io.Copy(dst, src)
				if tc, ok := dst.(*net.TCPConn); ok {
					_ = tc.CloseWrite()
				}
				done <- struct{}{}
			}
			go pipe(out, in)
			go pipe(in, out)
			<-done
			<-done
		}()
	}
}

// dialIn connects to addr from inside the network namespace nsName. The
// socket is made by a goroutine locked to a thread that enters the
// namespace and exits with it (never unlocked, so the runtime ends the
// thread instead of reusing it in the wrong namespace); the socket stays
// in the namespace it was made in.
func dialIn(nsName, addr string) (net.Conn, error) {
	type result struct {
		c   net.Conn
		err error
	}
	ch := make(chan result, 1)
	go func() {
		runtime.LockOSThread()
		h, err := netns.GetFromName(nsName)
		if err != nil {
			ch <- result{err: fmt.Errorf("open network namespace %s: %w", nsName, err)}
			return
		}
		defer h.Close()
		if err := netns.Set(h); err != nil {
			ch <- result{err: fmt.Errorf("enter network namespace %s: %w", nsName, err)}
			return
		}
		c, err := net.DialTimeout("tcp", addr, 10*time.Second)
		ch <- result{c, err}
	}()
	r := <-ch
	return r.c, r.err
}

// startAPIProxy starts the lab's API proxy unless it runs, and waits for
// its kubeconfig.
func (l *lab) startAPIProxy(ctx context.Context) error {
	for _, p := range l.state.snapshot().Procs {
		if p.Name == "api-proxy" && p.alive() {
			return nil
		}
	}
	_ = os.Remove(hostKubeconfig(l.dir))
	if err := createCgroup(l.topo.Name + "/api-proxy"); err != nil {
		return err
	}
	s, err := l.start(daemon{name: "api-proxy", cgroup: l.topo.Name + "/api-proxy", argv: []string{
		filepath.Join(l.cfg.ImageBin, "switchboard"), "lab", "api-proxy", "--name", l.topo.Name, "--dir", l.dir,
	}})
	if err != nil {
		return err
	}
	return l.poll(ctx, 20*time.Second, "the API proxy's kubeconfig "+hostKubeconfig(l.dir), []*started{s}, func() (bool, error) {
		_, err := os.Stat(hostKubeconfig(l.dir))
		if errors.Is(err, os.ErrNotExist) {
			return false, nil
		}
		return err == nil, err
	})
}
