package operator_test

import (
	"context"
	"crypto"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"switchboard/api/v1alpha1"
	"switchboard/internal/idco"
	"switchboard/internal/idco/pki"
	"switchboard/internal/idco/server"
	"switchboard/internal/idco/store"
	"switchboard/internal/intercluster"
	"switchboard/internal/token"
)

// A real IDCO (SQLite in a temporary file, HTTPS with client certificates on
// loopback) that the envtest operator registers ext-vnet networks with, as
// cluster "a".
var provider struct {
	name, domain string
	svc          *idco.Service
}

const testCluster = "a"

// startIDCO starts the IDCO and returns the operator's registrar for it
// and a func that stops both.
func startIDCO(ctx context.Context) (*intercluster.Registrar, func(), error) {
	dir, err := os.MkdirTemp("", "switchboard-idco-")
	if err != nil {
		return nil, nil, err
	}
	stop := func() { os.RemoveAll(dir) }
	provider.name = "idco-test"
	if err := pki.Init(filepath.Join(dir, "ca"), []string{"127.0.0.1"}); err != nil {
		stop()
		return nil, nil, err
	}
	certs := filepath.Join(dir, "certs")
	if err := pki.Enrol(filepath.Join(dir, "ca"), filepath.Join(certs, provider.name), pki.Identity{Cluster: testCluster}); err != nil {
		stop()
		return nil, nil, err
	}
	db, err := store.Open(ctx, filepath.Join(dir, "idco.db"))
	if err != nil {
		stop()
		return nil, nil, err
	}
	provider.svc = idco.New(db)
	tlsCfg, err := pki.ServerTLS(filepath.Join(dir, "ca"))
	if err != nil {
		db.Close()
		stop()
		return nil, nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		db.Close()
		stop()
		return nil, nil, err
	}
	provider.domain = ln.Addr().String()
	sctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- server.New(provider.svc, nil, nil).Serve(sctx, ln, tlsCfg) }()
	stopAll := func() {
		cancel()
		<-done
		db.Close()
		stop()
	}
	// Only the test provider's name is allowed (any domain: tests reach
	// it through proxies too), and the seed NADs' (which have no
	// certificates: they fail to register).
	allowed := intercluster.Allowlist{provider.name: nil, "idco": nil, "idco-1": nil}
	reg, err := intercluster.NewRegistrar(testCluster, "a-node1", certs, intercluster.WithAllowlist(allowed))
	if err != nil {
		stopAll()
		return nil, nil, err
	}
	return reg, stopAll, nil
}

// user is a user known to the IDCO, with a signing key.
type user struct {
	name   string
	key    crypto.Signer
	pubPEM string
}

func newUser(t *testing.T, name string) user {
	t.Helper()
	key, err := token.GenerateKey(token.AlgEd25519)
	if err != nil {
		t.Fatal(err)
	}
	pub, err := token.MarshalPublicKeyPEM(key.Public())
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := provider.svc.AddUser(ctx, name); err != nil {
		t.Fatal(err)
	}
	if _, err := provider.svc.AddKey(ctx, name, pub); err != nil {
		t.Fatal(err)
	}
	return user{name: name, key: key, pubPEM: string(pub)}
}

func (u user) sign(t *testing.T, network string) string {
	t.Helper()
	raw, err := token.Sign(token.Claims{Network: network, User: u.name, Expiry: time.Now().Add(time.Hour)}, u.key)
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

// TestExtVNetRegistersWithProvider: an ext-vnet Network gets a VNI, is
// registered with its provider together with its access list, and says so.
func TestExtVNetRegistersWithProvider(t *testing.T) {
	ns := needEnv(t)
	suffix := ns[len(ns)-5:] // network names are global at the IDCO
	alice, bob := newUser(t, "alice-"+suffix), newUser(t, "bob-"+suffix)
	name := "inter-" + suffix
	net := network(ns, name, &v1alpha1.IPAM{CIDR: "10.60.0.0/24"})
	net.Spec.Type = v1alpha1.ExtVNet
	net.Spec.Provider = &v1alpha1.Provider{Name: provider.name, Domain: provider.domain}
	net.Spec.AccessList = []v1alpha1.AccessEntry{{User: alice.name, PublicKey: alice.pubPEM}}
	create(t, net)
	net = waitCondition(t, ns, name, v1alpha1.ConditionReady, v1alpha1.ReasonRegistered)
	if c := condition(net, v1alpha1.ConditionReady); c.Status != metav1.ConditionTrue || net.Status.VNI == 0 || net.Status.InterClusterVNI == 0 {
		t.Fatalf("Ready = %+v, VNI %d, inter-cluster VNI %d: want True with both set", c, net.Status.VNI, net.Status.InterClusterVNI)
	}
	// The IDCO has the access list: alice is let in, bob is not.
	ctx := context.Background()
	d, err := provider.svc.Authorize(ctx, idco.AuthorizeRequest{Cluster: testCluster, Network: name, Namespace: ns, Pod: "p1", Token: alice.sign(t, name)})
	if err != nil || !d.Allowed {
		t.Errorf("alice, in the access list: %+v, %v; want allowed", d, err)
	}
	d, err = provider.svc.Authorize(ctx, idco.AuthorizeRequest{Cluster: testCluster, Network: name, Namespace: ns, Pod: "p2", Token: bob.sign(t, name)})
	if err != nil || d.Allowed || d.Reason != idco.ReasonNotInAccessList {
		t.Errorf("bob, not in the access list: %+v, %v; want refused with %s", d, err, idco.ReasonNotInAccessList)
	}
}

// TestExtVNetUnreachableProvider: a provider that cannot be reached leaves
// the network not Ready, saying why, and is retried.
func TestExtVNetUnreachableProvider(t *testing.T) {
	ns := needEnv(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := ln.Addr().String()
	ln.Close() // nothing listens there now
	n := network(ns, "nowhere", nil)
	n.Spec.Type = v1alpha1.ExtVNet
	n.Spec.Provider = &v1alpha1.Provider{Name: provider.name, Domain: closed}
	create(t, n)
	n = waitCondition(t, ns, "nowhere", v1alpha1.ConditionReady, v1alpha1.ReasonRegistrationFailed)
	if c := condition(n, v1alpha1.ConditionReady); c.Status != metav1.ConditionFalse {
		t.Errorf("Ready = %+v, want False", c)
	}
	if msg := waitEvent(t, ns, "Network", "nowhere", v1alpha1.ReasonRegistrationFailed); msg == "" {
		t.Error("no event")
	}
}
