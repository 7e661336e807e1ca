package idco

import (
	"context"
	"errors"
	"fmt"
)

// DeregisterNetwork removes the cluster's side of an inter-cluster network:
// its local network, access list and edge attachment. The cluster's active
// authorizations on the network end with ReasonNetworkDeregistered, the
// other clusters' edges lose it as a peer and its own edge drops the
// network. The network itself (its name and inter-cluster VNI) stays, so a
// cluster that registers it again gets the same VNI, and the ended
// authorizations keep what they refer to.
//
// It is idempotent: an unknown network, a cluster that has no registration
// of it, or one made by another local Network (d.Namespace or d.Name set
// and different) is left as it is, and is success.
func (s *Service) DeregisterNetwork(ctx context.Context, d Deregistration) error {
	if err := errors.Join(checkName("cluster", d.Cluster), checkName("network", d.Network),
		optional(checkNamespace, "namespace", d.Namespace), optional(checkName, "name", d.Name)); err != nil {
		return err
	}
	return s.update(ctx, func(w *write) error {
		if err := w.policyChanged(); err != nil {
			return err
		}
		regs, err := w.Registrations(ctx, d.Network)
		if err != nil {
			return err
		}
		r, ok := registrationOf(regs, d.Cluster)
		if !ok {
			return nil
		}
		if (d.Namespace != "" && d.Namespace != r.Namespace) || (d.Name != "" && d.Name != r.Name) {
			s.log.Info("network deregistration skipped: another local network holds the registration", "network", d.Network,
				"cluster", d.Cluster, "asked", d.Namespace+"/"+d.Name, "registered", r.Namespace+"/"+r.Name)
			return nil
		}
		if _, err := w.DeleteRegistration(ctx, d.Network, d.Cluster); err != nil {
			return err
		}
		if _, err := w.revision(); err != nil {
			return err
		}
		as, err := w.ActiveAuthorizations(ctx, ActiveFilter{Network: d.Network, Cluster: d.Cluster})
		if err != nil {
			return err
		}
		detail := fmt.Sprintf("cluster %q deregistered network %q: its Network %s/%s was deleted there", d.Cluster, d.Network, r.Namespace, r.Name)
		for _, a := range as {
			if err := s.revoke(w, a, ReasonNetworkDeregistered, detail); err != nil {
				return err
			}
		}
		s.log.Info("network deregistered", "network", d.Network, "cluster", d.Cluster, "revoked", len(as))
		return w.audit(AuditEntry{Action: "deregister-network", Network: d.Network, Cluster: d.Cluster,
			Subject: fmt.Sprintf("%s/%s vni=%d", r.Namespace, r.Name, r.LocalVNI), Allowed: true,
			Detail: fmt.Sprintf("%d authorization(s) ended", len(as))})
	})
}

// Registrations lists the clusters' sides of an inter-cluster network, by
// cluster; none if the network is unknown.
func (s *Service) Registrations(ctx context.Context, network string) ([]Registration, error) {
	var regs []Registration
	err := s.store.View(ctx, func(tx Tx) (err error) {
		regs, err = tx.Registrations(ctx, network)
		return err
	})
	return regs, err
}

func registrationOf(regs []Registration, cluster string) (Registration, bool) {
	for _, r := range regs {
		if r.Cluster == cluster {
			return r, true
		}
	}
	return Registration{}, false
}
