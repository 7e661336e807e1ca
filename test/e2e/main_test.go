//go:build e2e

// Package e2e holds the end-to-end tests: they bring up a lab of real
// Kubernetes clusters once per run (under a per-run name, so two runs never
// collide), run against it, and tear it down at the end even on failure,
// then check that nothing of the lab is left on the host.
//
// Tests that work in a namespace of their own on cluster a, and restart,
// delete or count nothing that another test uses (no component restart,
// no cluster-wide listing, no rule removed by hand), call t.Parallel():
// Go runs them together after the others (make test-e2e: -parallel 4),
// because they mostly wait for pods. The rest run one at a time.
package e2e

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"switchboard/internal/lab"
	"switchboard/internal/lab/kube"
)

var (
	keepLab  = flag.Bool("keep-lab", false, "leave the lab up after the tests (for debugging)")
	binDir   = flag.String("bin", "../../bin", "directory of the project's built binaries (make build)")
	useLab   = flag.String("use-lab", "", "run against this lab, already up and installed, and leave it up (for quick iterations; no teardown check)")
	primary  = flag.String("primary", "", "the lab's primary network: \"\" or bridge (default: 2 clusters of 2 nodes) or switchboard (1 cluster of 2 nodes; the TestPrimary tests run, with -run TestPrimary)")
	handle   *lab.Handle
	labCfg   lab.Config
	hostSnap hostState
)

func TestMain(m *testing.M) {
	flag.Parse()
	if os.Geteuid() != 0 {
		fmt.Println("e2e: needs root (network and mount namespaces, cgroups); skipping")
		os.Exit(0)
	}
	os.Exit(run(m))
}

func run(m *testing.M) int {
	suffix := make([]byte, 2)
	_, _ = rand.Read(suffix)
	bin, err := filepath.Abs(*binDir)
	if err != nil {
		fmt.Println("e2e:", err)
		return 1
	}
	if *useLab != "" {
		labCfg = lab.Config{Name: *useLab, ImageBin: bin, Out: os.Stdout, Primary: *primary}
		if handle, err = lab.Open(labCfg); err != nil {
			fmt.Println("e2e:", err)
			return 1
		}
		return m.Run()
	}
	labCfg = lab.Config{Name: "e2e" + hex.EncodeToString(suffix), Clusters: 2, Nodes: 2, ImageBin: bin, Out: os.Stdout, FRR: true}
	if *primary == lab.PrimarySwitchboard {
		labCfg.Clusters, labCfg.Primary = 1, *primary
	}
	if hostSnap, err = snapshotHost(); err != nil {
		fmt.Println("e2e: snapshot host:", err)
		return 1
	}
	ctx := context.Background()
	start := time.Now()
	upErr := lab.Up(ctx, labCfg)
	code := 1
	if upErr != nil {
		fmt.Println("e2e: lab up:", upErr)
	} else {
		fmt.Printf("e2e: lab %s up in %.1fs\n", labCfg.Name, time.Since(start).Seconds())
		if err := lab.Install(ctx, labCfg); err != nil {
			fmt.Println("e2e: install switchboard:", err)
		} else if handle, err = lab.Open(labCfg); err != nil {
			fmt.Println("e2e:", err)
		} else {
			code = m.Run()
		}
	}
	if *keepLab {
		fmt.Printf("e2e: leaving lab %s up (--keep-lab); remove it with `switchboard lab down --name %s`\n", labCfg.Name, labCfg.Name)
		return code
	}
	if err := lab.Down(context.Background(), labCfg, lab.DownOptions{KeepLogs: code != 0}); err != nil {
		fmt.Println("e2e: lab down:", err)
		code = 1
	}
	if code != 0 {
		fmt.Printf("e2e: daemon logs kept in %s\n", filepath.Join(lab.DefaultDir(labCfg.Name), "logs"))
	}
	// Teardown is part of the product: a lab that leaves anything behind fails the run.
	if err := checkNothingLeft(labCfg.Name, hostSnap); err != nil {
		fmt.Println("e2e: FAIL: lab down left things behind:", err)
		code = 1
	} else {
		fmt.Printf("e2e: teardown check passed: no namespace, mount, cgroup, process, file or host change of lab %s is left\n", labCfg.Name)
	}
	return code
}

// cluster returns a kube client for a lab cluster or fails the test.
func cluster(t testing.TB, name string) *kube.Cluster {
	t.Helper()
	c, err := kube.New(handle, name)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// testContext is a context that ends with the test or after d.
func testContext(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}
