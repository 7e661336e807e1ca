package edgectl

import (
	"context"
	"net"
	"path/filepath"
	"testing"
	"time"

	"switchboard/internal/idco"
	"switchboard/internal/idco/client"
	"switchboard/internal/idco/pki"
	"switchboard/internal/idco/server"
	"switchboard/internal/idco/store"
	"switchboard/internal/token"
)

// testIDCO is a real IDCO (SQLite in a temporary directory, HTTPS with
// client certificates on loopback) that can be stopped and started again
// on the same address and database, like an IDCO restarting.
type testIDCO struct {
	t     *testing.T
	dir   string
	addr  string
	svc   *idco.Service
	db    interface{ Close() error }
	stopF func()
}

func newTestIDCO(t *testing.T) *testIDCO {
	t.Helper()
	i := &testIDCO{t: t, dir: t.TempDir()}
	if err := pki.Init(filepath.Join(i.dir, "ca"), []string{"127.0.0.1"}); err != nil {
		t.Fatal(err)
	}
	i.start()
	t.Cleanup(i.stop)
	return i
}

func (i *testIDCO) start() {
	t := i.t
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	db, err := store.Open(ctx, filepath.Join(i.dir, "idco.db"))
	if err != nil {
		t.Fatal(err)
	}
	i.db, i.svc = db, idco.New(db)
	tlsCfg, err := pki.ServerTLS(filepath.Join(i.dir, "ca"))
	if err != nil {
		t.Fatal(err)
	}
	addr := i.addr
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	i.addr = ln.Addr().String()
	done := make(chan error, 1)
	go func() { done <- server.New(i.svc, nil, nil).Serve(ctx, ln, tlsCfg) }()
	i.stopF = func() {
		cancel()
		<-done
		db.Close()
	}
}

func (i *testIDCO) stop() {
	if i.stopF != nil {
		i.stopF()
		i.stopF = nil
	}
}

// client returns a client of the IDCO enrolled as cluster.
func (i *testIDCO) client(cluster string) *client.Client {
	i.t.Helper()
	dir := filepath.Join(i.dir, "certs", cluster)
	if err := pki.Enrol(filepath.Join(i.dir, "ca"), dir, pki.Identity{Cluster: cluster}); err != nil {
		i.t.Fatal(err)
	}
	c, err := client.NewFromDir("https://"+i.addr, dir)
	if err != nil {
		i.t.Fatal(err)
	}
	i.t.Cleanup(c.Close)
	return c
}

// connect registers network in clusters a and b (local VNIs 4096 and
// 5096, edge nodes gw and b-gw) for a user, authorizes a pod in each and
// returns the authorization IDs.
func (i *testIDCO) connect(network string) (idA, idB string) {
	t := i.t
	t.Helper()
	ctx := context.Background()
	key, err := token.GenerateKey(token.AlgEd25519)
	if err != nil {
		t.Fatal(err)
	}
	pub, err := token.MarshalPublicKeyPEM(key.Public())
	if err != nil {
		t.Fatal(err)
	}
	user := "alice-" + network
	must(t, i.svc.AddUser(ctx, user))
	if _, err := i.svc.AddKey(ctx, user, pub); err != nil {
		t.Fatal(err)
	}
	ids := map[string]string{}
	for cl, local := range map[string]uint32{"a": 4096, "b": 5096} {
		node := map[string]string{"a": "gw", "b": "b-gw"}[cl]
		_, err := i.svc.RegisterNetwork(ctx, idco.Registration{Cluster: cl, Network: network, Namespace: "t1", Name: "red",
			LocalVNI: local, Edge: idco.EdgeAttachment{Node: node, Interface: "sbn"}})
		must(t, err)
	}
	must(t, i.svc.Grant(ctx, user, network)) // the access lists are left open
	for _, cl := range []string{"a", "b"} {
		raw, err := token.Sign(token.Claims{Network: network, User: user, Expiry: time.Now().Add(time.Hour)}, key)
		must(t, err)
		d, err := i.svc.Authorize(ctx, idco.AuthorizeRequest{Cluster: cl, Network: network, Namespace: "t1", Pod: "p-" + cl, Token: raw})
		if err != nil || !d.Allowed {
			t.Fatalf("authorize in %s: %+v, %v", cl, d, err)
		}
		ids[cl] = d.AuthorizationID
	}
	return ids["a"], ids["b"]
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
