// Package operator is Switchboard's control plane: one reconciler per kind.
// NetworkReconciler assigns each Network a VNI, validates it and publishes
// its NetworkAttachmentDefinition, and defers deletion while pods use it
// (and, for an ext-vnet network, until its provider deregistered it);
// AttachmentReconciler deletes Attachments whose pod is gone;
// NADReconciler turns a user's NetworkAttachmentDefinition of type l2sm or
// switchboard (the seed format) into a Network. Setup wires all three into
// a controller-runtime manager.
package operator

import (
	"context"
	"fmt"
	"net/netip"
	"strings"
	"time"

	ctrl "sigs.k8s.io/controller-runtime"
)

// Finalizer keeps a Network while Attachments still use it and, for an
// ext-vnet network in inter-cluster mode, until its provider deregistered
// it.
const Finalizer = "switchboard.dev/in-use"

// eventSource is the component name on the operator's events.
const eventSource = "switchboard-operator"

// ReservedPrefix is an address range the cluster already uses (its pod or
// service CIDR); no Network's ipam.cidr may overlap it.
type ReservedPrefix struct {
	Prefix netip.Prefix
	// Name says what the range is and where it came from, for messages,
	// e.g. "the cluster's pod CIDR (--cluster-cidr)".
	Name string
}

// ParsePrefixes parses a comma-separated list of CIDRs ("" is none), each
// named name in messages.
func ParsePrefixes(name, list string) ([]ReservedPrefix, error) {
	var out []ReservedPrefix
	for f := range strings.SplitSeq(list, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		p, err := netip.ParsePrefix(f)
		if err != nil {
			return nil, fmt.Errorf("%s: %q is not a CIDR (e.g. 10.244.0.0/16)", name, f)
		}
		out = append(out, ReservedPrefix{Prefix: p.Masked(), Name: name})
	}
	return out, nil
}

// Config is what the reconcilers need beyond the manager.
type Config struct {
	// Reserved are the cluster's own CIDRs.
	Reserved []ReservedPrefix
	// GCInterval is how often each Attachment's pod is re-checked even
	// without a pod event; 0 means 60s.
	GCInterval time.Duration
	// InterCluster registers ext-vnet Networks with their provider; nil
	// (no --inter-cluster) refuses type ext-vnet with a condition.
	InterCluster Registrar
}

// Setup adds every reconciler to mgr.
func Setup(ctx context.Context, mgr ctrl.Manager, cfg Config) error {
	recorder := mgr.GetEventRecorderFor(eventSource)
	nets := &NetworkReconciler{
		Client:    mgr.GetClient(),
		APIReader: mgr.GetAPIReader(),
		Recorder:  recorder,
		Reserved:  cfg.Reserved,
		Registrar: cfg.InterCluster,
	}
	if err := nets.SetupWithManager(mgr); err != nil {
		return fmt.Errorf("set up network controller: %w", err)
	}
	gc := &AttachmentReconciler{
		Client:    mgr.GetClient(),
		APIReader: mgr.GetAPIReader(),
		Recorder:  recorder,
		Interval:  cfg.GCInterval,
	}
	if err := gc.SetupWithManager(ctx, mgr); err != nil {
		return fmt.Errorf("set up attachment controller: %w", err)
	}
	nads := &NADReconciler{Client: mgr.GetClient(), Recorder: recorder}
	if err := nads.SetupWithManager(mgr); err != nil {
		return fmt.Errorf("set up networkattachmentdefinition controller: %w", err)
	}
	// A Registrar with controllers of its own (package intercluster's pod
	// authorization and revocation watcher) adds them too.
	if s, ok := cfg.InterCluster.(interface{ SetupWithManager(ctrl.Manager) error }); ok {
		if err := s.SetupWithManager(mgr); err != nil {
			return err
		}
	}
	return nil
}
