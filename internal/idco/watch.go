package idco

import (
	"context"
	"time"
)

// poll calls read until the revision it returns differs from since, then
// returns. With wait > 0 it blocks up to wait for a change (a long poll),
// and otherwise returns after the first read. It wakes within moments of
// any write that moves the revision.
func (s *Service) poll(ctx context.Context, since int64, wait time.Duration, read func(Tx) (int64, error)) error {
	var timeout <-chan time.Time
	if wait > 0 {
		t := time.NewTimer(wait)
		defer t.Stop()
		timeout = t.C
	}
	for {
		ch := s.changed()
		var rev int64
		err := s.store.View(ctx, func(tx Tx) (err error) {
			rev, err = read(tx)
			return err
		})
		if err != nil || rev != since || wait <= 0 {
			return err
		}
		select {
		case <-ch:
		case <-timeout:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// Authorizations returns the cluster's active authorizations and those
// revoked after revision since (none when since is 0), blocking up to wait
// while the revision is still since. Operators call it in a loop with the
// returned Revision to learn of revocations within a second.
func (s *Service) Authorizations(ctx context.Context, cluster string, since int64, wait time.Duration) (AuthorizationList, error) {
	if err := checkName("cluster", cluster); err != nil {
		return AuthorizationList{}, err
	}
	var l AuthorizationList
	err := s.poll(ctx, since, wait, func(tx Tx) (int64, error) {
		var err error
		l = AuthorizationList{Cluster: cluster, Revoked: []Authorization{}}
		if l.Revision, err = tx.Revision(ctx); err != nil {
			return 0, err
		}
		if l.Active, err = tx.ActiveAuthorizations(ctx, ActiveFilter{Cluster: cluster}); err != nil {
			return 0, err
		}
		if since > 0 {
			if l.Revoked, err = tx.RevokedSince(ctx, cluster, since); err != nil {
				return 0, err
			}
		}
		return l.Revision, nil
	})
	return l, err
}

// EdgeConfig returns the whole desired state of the cluster's edge,
// blocking up to wait while the revision is still since. A network is in
// it when it is registered in the cluster and has at least one active
// authorization there; its peers are the other clusters where it is
// registered, has an active authorization, and whose edge endpoint is
// known.
func (s *Service) EdgeConfig(ctx context.Context, cluster string, since int64, wait time.Duration) (EdgeConfig, error) {
	if err := checkName("cluster", cluster); err != nil {
		return EdgeConfig{}, err
	}
	var c EdgeConfig
	err := s.poll(ctx, since, wait, func(tx Tx) (int64, error) {
		var err error
		c, err = edgeConfig(ctx, tx, cluster)
		return c.Revision, err
	})
	return c, err
}

func edgeConfig(ctx context.Context, tx Tx, cluster string) (EdgeConfig, error) {
	c := EdgeConfig{Cluster: cluster, Networks: []EdgeNetwork{}}
	var err error
	if c.Revision, err = tx.Revision(ctx); err != nil {
		return c, err
	}
	regs, err := tx.ClusterRegistrations(ctx, cluster)
	if err != nil {
		return c, err
	}
	edges := map[string]Cluster{}
	for _, r := range regs {
		active, err := tx.ActiveAuthorizations(ctx, ActiveFilter{Network: r.Network})
		if err != nil {
			return c, err
		}
		in := map[string]bool{}
		for _, a := range active {
			in[a.Cluster] = true
		}
		if !in[cluster] {
			continue
		}
		n, err := tx.Network(ctx, r.Network)
		if err != nil {
			return c, err
		}
		en := EdgeNetwork{Network: r.Network, VNI: n.VNI, Namespace: r.Namespace, Name: r.Name, LocalVNI: r.LocalVNI, Edge: r.Edge, Peers: []EdgePeer{}}
		others, err := tx.Registrations(ctx, r.Network)
		if err != nil {
			return c, err
		}
		for _, o := range others {
			if o.Cluster == cluster || !in[o.Cluster] {
				continue
			}
			oc, ok := edges[o.Cluster]
			if !ok {
				if oc, err = tx.Cluster(ctx, o.Cluster); err != nil {
					return c, err
				}
				edges[o.Cluster] = oc
			}
			if oc.EdgeEndpoint != "" {
				en.Peers = append(en.Peers, EdgePeer{Cluster: o.Cluster, Endpoint: oc.EdgeEndpoint, PublicKey: oc.EdgePublicKey})
			}
		}
		c.Networks = append(c.Networks, en)
	}
	return c, nil
}
