package idco_test

import (
	"context"
	"crypto"
	"strings"
	"testing"
	"time"

	"switchboard/internal/idco"
	"switchboard/internal/idco/store"
	"switchboard/internal/idco/store/storetest"
	"switchboard/internal/token"
)

// fixture is a Service on a fresh database of one backend, with users
// whose private keys the test holds.
type fixture struct {
	t     *testing.T
	ctx   context.Context
	dsn   string
	db    *store.DB
	svc   *idco.Service
	users map[string]*user
}

type user struct {
	name string
	key  crypto.Signer
	pem  string
	fp   string
}

func newFixture(t *testing.T, b storetest.Backend) *fixture {
	t.Helper()
	f := &fixture{t: t, ctx: context.Background(), dsn: b.NewDSN(t), users: map[string]*user{}}
	f.open()
	t.Cleanup(func() { f.db.Close() })
	return f
}

// open (re)opens the store and a new Service on it.
func (f *fixture) open() {
	f.t.Helper()
	db, err := store.Open(f.ctx, f.dsn)
	if err != nil {
		f.t.Fatalf("open store: %v", err)
	}
	f.db = db
	f.svc = idco.New(db)
}

// restart closes the store and opens a new Service on the same database.
func (f *fixture) restart() {
	f.t.Helper()
	if err := f.db.Close(); err != nil {
		f.t.Fatal(err)
	}
	f.open()
}

func (f *fixture) must(err error) {
	f.t.Helper()
	if err != nil {
		f.t.Fatal(err)
	}
}

// newKey makes a key pair; the public key is not registered anywhere.
func (f *fixture) newKey(name string) *user {
	f.t.Helper()
	k, err := token.GenerateKey(token.AlgEd25519)
	f.must(err)
	pem, err := token.MarshalPublicKeyPEM(k.Public())
	f.must(err)
	fp, err := token.Fingerprint(k.Public())
	f.must(err)
	return &user{name: name, key: k, pem: string(pem), fp: fp}
}

// addUser registers a user and a key with the IDCO.
func (f *fixture) addUser(name string) *user {
	f.t.Helper()
	u := f.newKey(name)
	f.must(f.svc.AddUser(f.ctx, name))
	fp, err := f.svc.AddKey(f.ctx, name, []byte(u.pem))
	f.must(err)
	if fp != u.fp {
		f.t.Fatalf("AddKey fingerprint %q, want %q", fp, u.fp)
	}
	f.users[name] = u
	return u
}

// sign makes a token of u for network valid from a minute ago for an hour;
// edit changes the claims before signing.
func (f *fixture) sign(u *user, network string, edit ...func(*token.Claims)) string {
	f.t.Helper()
	now := time.Now()
	c := token.Claims{Network: network, User: u.name, IssuedAt: now.Add(-time.Minute), Expiry: now.Add(time.Hour)}
	for _, e := range edit {
		e(&c)
	}
	raw, err := token.Sign(c, u.key)
	f.must(err)
	return raw
}

func (f *fixture) register(cluster, network string, localVNI uint32, list ...*user) uint32 {
	f.t.Helper()
	r := idco.Registration{Cluster: cluster, Network: network, Namespace: "ns-" + cluster, Name: network,
		LocalVNI: localVNI, Edge: idco.EdgeAttachment{Node: cluster + "-edge", Interface: "ned-" + network}}
	for _, u := range list {
		r.AccessList = append(r.AccessList, idco.AccessEntry{User: u.name, PublicKeyPEM: u.pem})
	}
	vni, err := f.svc.RegisterNetwork(f.ctx, r)
	f.must(err)
	return vni
}

func (f *fixture) authorize(cluster, network, pod, raw string) idco.Decision {
	f.t.Helper()
	d, err := f.svc.Authorize(f.ctx, idco.AuthorizeRequest{Cluster: cluster, Network: network, Namespace: "default", Pod: pod, Token: raw})
	f.must(err)
	return d
}

// lastAudit returns the newest audit entry of an action.
func (f *fixture) lastAudit(action string) idco.AuditEntry {
	f.t.Helper()
	es := f.audits(action)
	if len(es) == 0 {
		f.t.Fatalf("no audit entry for %q", action)
	}
	return es[0]
}

// audits returns the audit entries of an action, newest first.
func (f *fixture) audits(action string) []idco.AuditEntry {
	f.t.Helper()
	es, err := f.svc.Audit(f.ctx, idco.AuditFilter{Limit: 1000})
	f.must(err)
	var out []idco.AuditEntry
	for _, e := range es {
		if e.Action == action {
			out = append(out, e)
		}
	}
	return out
}

// forEachBackend runs test on SQLite and PostgreSQL, each subtest on a
// fresh database.
func forEachBackend(t *testing.T, test func(t *testing.T, f *fixture)) {
	for _, b := range storetest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) { test(t, newFixture(t, b)) })
	}
}

// registeredIn lists, comma-separated, the clusters where network is
// registered.
func (f *fixture) registeredIn(network string) string {
	f.t.Helper()
	regs, err := f.svc.Registrations(f.ctx, network)
	f.must(err)
	var cs []string
	for _, r := range regs {
		cs = append(cs, r.Cluster)
	}
	return strings.Join(cs, ",")
}
