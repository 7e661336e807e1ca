package v1alpha1

import (
	"fmt"
	"slices"
)

// SharedWithEveryone in spec.sharedWith shares a Network with every
// namespace.
const SharedWithEveryone = "*"

// CheckNamespace says whether pods of namespace ns may join n: pods of the
// network's own namespace always may; others only if spec.sharedWith lists
// ns or "*". The refusal names the field and the fix. It is the one
// tenancy decision that both the admission webhook (at pod create) and the
// agent (at CNI ADD) apply.
func (n *Network) CheckNamespace(ns string) error {
	if ns == n.Namespace || slices.Contains(n.Spec.SharedWith, SharedWithEveryone) || slices.Contains(n.Spec.SharedWith, ns) {
		return nil
	}
	return fmt.Errorf("pods of namespace %s may not join network %s/%s: add %q to the network's spec.sharedWith, or use a network of namespace %s",
		ns, n.Namespace, n.Name, ns, ns)
}
