package intercluster

import (
	"context"
	"errors"
	"fmt"
	"os"
	"reflect"
	"sync"
	"time"

	"switchboard/api/v1alpha1"
	"switchboard/internal/idco"
	"switchboard/internal/idco/client"
	"switchboard/internal/netdev/devname"
)

// Registrar registers ext-vnet Networks with their providers. It is safe
// for concurrent use.
type Registrar struct {
	cluster  string // this cluster's name, as enrolled with the providers
	edgeNode string // the gateway node that runs the edge device
	certDir  string // one subdirectory of client certificates per provider

	allowed Allowlist

	mu      sync.Mutex
	clients map[v1alpha1.Provider]*client.Client // of the providers in use
	done    map[registrationKey]registration     // the last registration of each Network
}

// registrationKey names a local Network's registration at a provider.
type registrationKey struct {
	provider        v1alpha1.Provider
	namespace, name string
}

func keyOf(p v1alpha1.Provider, net *v1alpha1.Network) registrationKey {
	return registrationKey{provider: p, namespace: net.Namespace, name: net.Name}
}

// Option configures a Registrar.
type Option func(*Registrar)

// WithAllowlist restricts the providers the Registrar talks to (the
// operator's --allowed-providers); without it every provider is allowed.
func WithAllowlist(a Allowlist) Option { return func(r *Registrar) { r.allowed = a } }

// registration is what the provider last accepted for a network.
type registration struct {
	reg idco.NetworkRegistration
	vni uint32
	at  time.Time
}

// refreshAfter is how long an unchanged registration is trusted before
// Register sends it again (a provider restored from an old backup learns
// it again within this time).
const refreshAfter = 5 * time.Minute

// NewRegistrar returns a Registrar for cluster, whose edge runs on edgeNode,
// with provider certificates under certDir/<provider name>/.
func NewRegistrar(cluster, edgeNode, certDir string, opts ...Option) (*Registrar, error) {
	if cluster == "" {
		return nil, errors.New("inter-cluster mode needs this cluster's name: set --cluster-name to the name the IDCO enrolled it under")
	}
	if edgeNode == "" {
		return nil, errors.New("inter-cluster mode needs the gateway node that runs switchboard-edge: set --edge-node")
	}
	if st, err := os.Stat(certDir); err != nil || !st.IsDir() {
		return nil, fmt.Errorf("provider certificate directory %q is not readable (%v): mount the certificates from \"switchboard-idco enrol\" there, one subdirectory per provider name", certDir, err)
	}
	r := &Registrar{cluster: cluster, edgeNode: edgeNode, certDir: certDir, clients: map[v1alpha1.Provider]*client.Client{}, done: map[registrationKey]registration{}}
	for _, o := range opts {
		o(r)
	}
	return r, nil
}

// Cluster is this cluster's name.
func (r *Registrar) Cluster() string { return r.cluster }

// Register records net (which must have its VNI) with its provider and
// returns the network's inter-cluster VNI. Registering again with the same
// spec changes nothing (and is not sent again for refreshAfter, so that the
// network's status updates do not flood the provider and its audit log); a
// changed access list replaces the old one.
func (r *Registrar) Register(ctx context.Context, net *v1alpha1.Network) (uint32, error) {
	c, err := r.Client(net.Spec.Provider)
	if err != nil {
		return 0, err
	}
	reg := idco.NetworkRegistration{
		Namespace: net.Namespace, Name: net.Name, LocalVNI: uint32(net.Status.VNI),
		Edge: idco.EdgeAttachment{Node: r.edgeNode, Interface: devname.EdgeCable(uint32(net.Status.VNI))},
	}
	for _, e := range net.Spec.AccessList {
		reg.AccessList = append(reg.AccessList, idco.AccessEntry{User: e.User, PublicKeyPEM: e.PublicKey})
	}
	key := keyOf(*net.Spec.Provider, net)
	r.mu.Lock()
	last, ok := r.done[key]
	r.mu.Unlock()
	if ok && time.Since(last.at) < refreshAfter && reflect.DeepEqual(last.reg, reg) {
		return last.vni, nil
	}
	if err := c.RegisterCluster(ctx, r.cluster); err != nil {
		return 0, fmt.Errorf("register cluster %q with provider %q: %w", r.cluster, net.Spec.Provider.Name, err)
	}
	vni, err := c.RegisterNetwork(ctx, r.cluster, net.Name, reg)
	var answer *client.Error
	if errors.As(err, &answer) && answer.Reason == idco.ReasonNameConflict {
		return 0, &ConditionError{Reason: v1alpha1.ReasonNameConflict, Err: fmt.Errorf(
			"provider %q refused network %q: %s", net.Spec.Provider.Name, net.Name, answer.Message)}
	}
	if err != nil {
		return 0, fmt.Errorf("register network %q with provider %q: %w", net.Name, net.Spec.Provider.Name, err)
	}
	r.mu.Lock()
	r.done[key] = registration{reg: reg, vni: vni, at: time.Now()}
	r.mu.Unlock()
	return vni, nil
}

// Deregister removes this cluster's registration of net from provider p,
// the provider net was registered with (its spec.provider, or the one it
// names no more): p ends this cluster's authorizations on the network and
// the edges disconnect it. Only a registration of this very Network
// (namespace and name) is removed, not one that another Network of the same
// name has made since, and nothing registered is success. It forgets the
// registration Register cached, so that a Network of the same name made
// again registers afresh. The error says whether p could not be reached or
// refused.
func (r *Registrar) Deregister(ctx context.Context, p v1alpha1.Provider, net *v1alpha1.Network) error {
	r.mu.Lock()
	delete(r.done, keyOf(p, net))
	r.mu.Unlock()
	c, err := r.Client(&p)
	if err != nil {
		return err
	}
	err = c.DeregisterNetwork(ctx, r.cluster, net.Name, idco.LocalNetwork{Namespace: net.Namespace, Name: net.Name})
	var answer *client.Error
	switch {
	case err == nil:
		return nil
	case errors.As(err, &answer):
		return fmt.Errorf("provider %q refused to deregister network %q: %w", p.Name, net.Name, err)
	}
	return fmt.Errorf("provider %q at %s is unreachable, so network %q is not deregistered: %w", p.Name, p.Domain, net.Name, err)
}
