package idco

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"strconv"
)

// RegisterNetwork records (or replaces) the cluster's local side of an
// inter-cluster network and returns the network's inter-cluster VNI,
// assigning one the first time any cluster registers the network. It is
// an idempotent upsert and connects nothing by itself. If the new access
// list no longer admits a user with an active authorization (in any
// cluster), that authorization is revoked.
//
// The cluster's side is owned by the local Network that registered it
// (r.Namespace and r.Name): another local Network of the cluster
// registering the same network is refused with a *NameConflictError (which
// matches ErrConflict) naming the holder, audited, and the holder's
// registration stays untouched.
func (s *Service) RegisterNetwork(ctx context.Context, r Registration) (uint32, error) {
	if err := s.checkRegistration(&r); err != nil {
		return 0, err
	}
	var vni uint32
	var refused error
	err := s.update(ctx, func(w *write) error {
		if err := w.policyChanged(); err != nil {
			return err
		}
		regs, err := w.Registrations(ctx, r.Network)
		if err != nil {
			return err
		}
		if refused = holderConflict(regs, r); refused != nil {
			s.log.Info("network registration refused: another local network holds the name", "network", r.Network,
				"cluster", r.Cluster, "asked", r.Namespace+"/"+r.Name, "err", refused.Error())
			return w.audit(AuditEntry{Action: "register-network", Network: r.Network, Cluster: r.Cluster,
				Subject: fmt.Sprintf("%s/%s vni=%d access=%d", r.Namespace, r.Name, r.LocalVNI, len(r.AccessList)),
				Allowed: false, Reason: ReasonNameConflict, Detail: refused.Error()})
		}
		if err := w.EnsureCluster(ctx, r.Cluster, w.now); err != nil {
			return err
		}
		n, err := w.Network(ctx, r.Network)
		if errors.Is(err, ErrNotFound) {
			n, err = w.CreateNetwork(ctx, r.Network, s.vniMin, s.vniMax, w.now)
		}
		if err != nil {
			return err
		}
		vni = n.VNI
		r.UpdatedAt = w.now
		if err := w.PutRegistration(ctx, r); err != nil {
			return err
		}
		if _, err := w.revision(); err != nil {
			return err
		}
		if err := w.audit(AuditEntry{Action: "register-network", Network: r.Network, Cluster: r.Cluster,
			Subject: fmt.Sprintf("%s/%s vni=%d access=%d", r.Namespace, r.Name, r.LocalVNI, len(r.AccessList)), Allowed: true}); err != nil {
			return err
		}
		s.log.Info("network registered", "network", r.Network, "cluster", r.Cluster, "vni", n.VNI, "localVNI", r.LocalVNI)
		return s.reevaluate(w, r.Network)
	})
	if err == nil && refused != nil {
		return 0, refused
	}
	return vni, err
}

func (s *Service) checkRegistration(r *Registration) error {
	if err := errors.Join(checkName("cluster", r.Cluster), checkName("network", r.Network),
		checkNamespace("namespace", r.Namespace), checkName("name", r.Name),
		optional(checkName, "edge.node", r.Edge.Node), optional(checkInterface, "edge.interface", r.Edge.Interface)); err != nil {
		return err
	}
	if r.LocalVNI == 0 || r.LocalVNI >= 1<<24 {
		return invalid("local VNI %d of network %q is out of range: use 1-16777215", r.LocalVNI, r.Network)
	}
	list := make([]AccessEntry, 0, len(r.AccessList))
	for i, e := range r.AccessList {
		if err := checkUser(fmt.Sprintf("accessList[%d].user", i), e.User); err != nil {
			return err
		}
		fp, err := fingerprintPEM([]byte(e.PublicKeyPEM))
		if err != nil {
			return invalid("accessList[%d].publicKey of user %q: %v", i, e.User, err)
		}
		if e.Fingerprint != "" && e.Fingerprint != fp {
			return invalid("accessList[%d].fingerprint %q is not the key's fingerprint %q: leave it empty", i, e.Fingerprint, fp)
		}
		e.Fingerprint = fp
		list = append(list, e)
	}
	r.AccessList = list
	return nil
}

func checkEndpoint(endpoint string) error {
	host, port, err := net.SplitHostPort(endpoint)
	if err != nil {
		return invalid("edge endpoint %q is not host:port: %v", endpoint, err)
	}
	if p, err := strconv.Atoi(port); err != nil || p < 1 || p > 65535 {
		return invalid("edge endpoint %q has port %q: use 1-65535", endpoint, port)
	}
	if host == "" {
		return invalid("edge endpoint %q has no host", endpoint)
	}
	return nil
}

// checkPublicKey accepts an edge's WireGuard public key as wg(8) prints it
// (standard base64 of 32 bytes), or "" for an edge without encryption.
func checkPublicKey(k string) error {
	if k == "" {
		return nil
	}
	b, err := base64.StdEncoding.Strict().DecodeString(k)
	if err != nil || len(b) != 32 || base64.StdEncoding.EncodeToString(b) != k {
		return invalid("edge public key %q is not a WireGuard public key: want the 44-character base64 that \"wg pubkey\" prints", k)
	}
	return nil
}

// keyNote says in the audit log whether an edge encrypts.
func keyNote(k string) string {
	if k == "" {
		return "no public key: plain VXLAN on the WAN"
	}
	return "WireGuard public key " + k
}

// AuthorizeRequest asks whether a pod may join an inter-cluster network.
type AuthorizeRequest struct {
	Cluster   string `json:"cluster"`
	Network   string `json:"network"`
	Namespace string `json:"namespace"`
	Pod       string `json:"pod"`
	Token     string `json:"token"`
}

// Authorize decides whether the pod may join the network. It verifies the
// token against the IDCO's key registry (signature, key not revoked,
// validity, network, requesting cluster) and then checks every cluster
// where the network is registered: a non-empty access list must hold the
// user with the signing key; an empty one defers to the IDCO's
// permissions. Every decision goes to the audit log; an allowed one
// creates an active authorization (replacing an earlier one for the same
// pod). A refusal is a Decision, not an error: errors mean the IDCO could
// not decide. Concurrent decisions share a transaction (see batch.go); each
// is committed before it is answered.
func (s *Service) Authorize(ctx context.Context, req AuthorizeRequest) (Decision, error) {
	if err := errors.Join(checkName("cluster", req.Cluster), checkName("network", req.Network),
		checkNamespace("namespace", req.Namespace), checkName("pod", req.Pod)); err != nil {
		return Decision{}, err
	}
	s.verifying.Add(1)
	pre := s.preverify(ctx, req)
	s.verifying.Add(-1)
	d, err := s.decideBatched(&pending{ctx: ctx, req: req, pre: pre})
	if err != nil {
		return Decision{}, err
	}
	s.log.Info("authorization decided", "network", req.Network, "cluster", req.Cluster, "pod", req.Namespace+"/"+req.Pod,
		"allowed", d.Allowed, "reason", d.Reason)
	return d.Decision, nil
}
