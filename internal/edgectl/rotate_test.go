package edgectl

import (
	"context"
	"encoding/base64"
	"errors"
	"net/netip"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	sbv1 "switchboard/api/v1alpha1"
)

func testKey(n byte) string {
	k := make([]byte, 32)
	k[31] = n
	return base64.StdEncoding.EncodeToString(k)
}

// TestRotateKey: the edge registers its key, a rotation gives the provider
// the new one before RotateKey returns and converges the kernel again; an
// edge without WireGuard refuses to rotate.
func TestRotateKey(t *testing.T) {
	srv := newTestIDCO(t)
	ctx := context.Background()
	scheme := runtime.NewScheme()
	must(t, sbv1.AddToScheme(scheme))
	fe := &fakeEdge{}
	rotated := testKey(2)
	opts := Options{
		Cluster:   "a",
		Local:     Local{Node: "gw", WAN: netip.MustParseAddr("198.19.0.10"), WANDevice: "wan0", WANPort: 51820, PublicKey: testKey(1)},
		NodeIP:    netip.MustParseAddr("198.18.0.10"),
		Pod:       sbv1.PodRef{Namespace: "switchboard-system", Name: "edge-1", UID: "u-edge"},
		Providers: []Provider{{Name: "idco-test", IDCO: srv.client("a")}},
		Client:    fake.NewClientBuilder().WithScheme(scheme).Build(), Edge: fe,
		PollWait: 30 * time.Second, Resync: time.Hour,
		Rotate: func(context.Context) (string, error) { return rotated, nil },
	}
	c, err := New(opts)
	must(t, err)
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- c.Run(runCtx) }()
	defer func() { cancel(); <-done }()

	registered := func() string {
		cl, err := srv.svc.Cluster(ctx, "a")
		if err != nil {
			return err.Error()
		}
		return cl.EdgeEndpoint + " " + cl.EdgePublicKey
	}
	eventually(t, "first key registered", func() (bool, string) {
		got := registered()
		return got == "198.19.0.10:51820 "+testKey(1), got
	})
	eventually(t, "first convergence", func() (bool, string) {
		_, n := fe.links()
		return n >= 1, "no Set"
	})
	_, before := fe.links()
	key, err := c.RotateKey(ctx)
	if err != nil || key != rotated {
		t.Fatalf("RotateKey = %q, %v; want %s", key, err, rotated)
	}
	if got := registered(); got != "198.19.0.10:51820 "+rotated {
		t.Errorf("after RotateKey returned, the provider has %q, want the new key", got)
	}
	eventually(t, "converged after the rotation", func() (bool, string) {
		_, n := fe.links()
		return n > before, "no Set since"
	})

	opts.Rotate = nil
	plain, err := New(opts)
	must(t, err)
	if _, err := plain.RotateKey(ctx); !errors.Is(err, ErrNoKey) {
		t.Errorf("RotateKey on an edge without WireGuard = %v, want ErrNoKey", err)
	}
}
