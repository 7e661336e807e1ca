package idco_test

import (
	"errors"
	"strings"
	"testing"

	"switchboard/internal/idco"
	"switchboard/internal/idco/store/storetest"
)

func TestNamesAreChecked(t *testing.T) {
	f := newFixture(t, storetest.Backend{Name: "sqlite", NewDSN: storetest.SQLite})
	alice := f.addUser("alice")
	long := strings.Repeat("a", 63) + "." + strings.Repeat("b", 63) + "." + strings.Repeat("c", 63) + "." + strings.Repeat("d", 61) // 253
	registration := func(edit func(*idco.Registration)) func() error {
		return func() error {
			r := idco.Registration{Cluster: "a", Network: "blue", Namespace: "team-a", Name: "blue", LocalVNI: 7,
				Edge:       idco.EdgeAttachment{Node: "a-node1", Interface: "sbn7"},
				AccessList: []idco.AccessEntry{{User: "alice", PublicKeyPEM: alice.pem}}}
			edit(&r)
			_, err := f.svc.RegisterNetwork(f.ctx, r)
			return err
		}
	}
	authorization := func(edit func(*idco.AuthorizeRequest)) func() error {
		return func() error {
			r := idco.AuthorizeRequest{Cluster: "a", Network: "blue", Namespace: "team-a", Pod: "web-0", Token: f.sign(alice, "blue")}
			edit(&r)
			_, err := f.svc.Authorize(f.ctx, r)
			return err
		}
	}
	for _, tc := range []struct {
		name  string
		call  func() error
		field string // "" means the call must succeed
	}{
		{"plain names", registration(func(r *idco.Registration) {}), ""},
		{"dotted Network and cluster names", registration(func(r *idco.Registration) { r.Network, r.Name, r.Cluster = "blue.v2", "blue.v2", "a.example" }), ""},
		{"253-character network name", registration(func(r *idco.Registration) { r.Network, r.Name = long, long }), ""},
		{"e-mail user", registration(func(r *idco.Registration) { r.AccessList[0].User = "alice@example.org" }), ""},
		{"no edge attachment", registration(func(r *idco.Registration) { r.Edge = idco.EdgeAttachment{} }), ""},
		{"pod", authorization(func(r *idco.AuthorizeRequest) {}), ""},

		{"network with a slash", registration(func(r *idco.Registration) { r.Network = "blue/x" }), "network"},
		{"network ..", registration(func(r *idco.Registration) { r.Network = ".." }), "network"},
		{"network with ..", registration(func(r *idco.Registration) { r.Network = "a..b" }), "network"},
		{"network with a bidi override", registration(func(r *idco.Registration) { r.Network = "blue\u202eder" }), "network"},
		{"network upper case", registration(func(r *idco.Registration) { r.Network = "Blue" }), "network"},
		{"254-character network", registration(func(r *idco.Registration) { r.Network = long + "e" }), "network"},
		{"cluster with a slash", registration(func(r *idco.Registration) { r.Cluster = "../b" }), "cluster"},
		{"namespace with a dot", registration(func(r *idco.Registration) { r.Namespace = "team.a" }), "namespace"},
		{"64-character namespace", registration(func(r *idco.Registration) { r.Namespace = strings.Repeat("n", 64) }), "namespace"},
		{"name with a space", registration(func(r *idco.Registration) { r.Name = "blue net" }), "name"},
		{"edge node with a slash", registration(func(r *idco.Registration) { r.Edge.Node = "a/node1" }), "edge.node"},
		{"edge interface too long", registration(func(r *idco.Registration) { r.Edge.Interface = "sbn1234567890123" }), "edge.interface"},
		{"edge interface ..", registration(func(r *idco.Registration) { r.Edge.Interface = ".." }), "edge.interface"},
		{"user with a slash", registration(func(r *idco.Registration) { r.AccessList[0].User = "../alice" }), "accessList[0].user"},
		{"user with a bidi override", registration(func(r *idco.Registration) { r.AccessList[0].User = "alice\u202e" }), "accessList[0].user"},
		{"user too long", registration(func(r *idco.Registration) { r.AccessList[0].User = strings.Repeat("u", 254) }), "accessList[0].user"},
		{"pod with a slash", authorization(func(r *idco.AuthorizeRequest) { r.Pod = "web/0" }), "pod"},
		{"pod namespace ..", authorization(func(r *idco.AuthorizeRequest) { r.Namespace = ".." }), "namespace"},
		{"new user ..", func() error { return f.svc.AddUser(f.ctx, "..") }, "user"},
		{"new user with a newline", func() error { return f.svc.AddUser(f.ctx, "bob\nadmin") }, "user"},
		{"grant on a network with a slash", func() error { return f.svc.Grant(f.ctx, "alice", "x/y") }, "network"},
		{"edge endpoint of cluster with a bidi override", func() error {
			return f.svc.SetEdgeEndpoint(f.ctx, "a\u202e", idco.EdgeEndpointRequest{Endpoint: "198.18.0.1:4790"})
		}, "cluster"},
		{"deregistration namespace with a slash", func() error {
			return f.svc.DeregisterNetwork(f.ctx, idco.Deregistration{Cluster: "a", Network: "blue", Namespace: "a/b"})
		}, "namespace"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.call()
			switch {
			case tc.field == "" && err != nil:
				t.Fatalf("err = %v, want success", err)
			case tc.field == "":
			case !errors.Is(err, idco.ErrInvalid) || !strings.Contains(err.Error(), tc.field+" "):
				t.Fatalf("err = %v, want ErrInvalid naming %s", err, tc.field)
			case strings.ContainsRune(err.Error(), '\u202e') || strings.Contains(err.Error(), "\n"):
				t.Errorf("error %q carries the raw name: quote it", err)
			}
		})
	}
}
