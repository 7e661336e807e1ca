package idco

import "fmt"

// ReasonNameConflict is the reason of a registration refused because
// another local Network of the cluster (in another namespace, or of another
// name) holds the cluster's registration of the network.
const ReasonNameConflict = "NameConflict"

// NameConflictError refuses a registration: the cluster's side of Network
// is owned by the local Network Holder, not by Asker, and stays as it is.
// It matches ErrConflict with errors.Is.
type NameConflictError struct {
	Network, Cluster string
	Holder, Asker    LocalNetwork
}

func (e *NameConflictError) Error() string {
	h, a := e.Holder.Namespace+"/"+e.Holder.Name, e.Asker.Namespace+"/"+e.Asker.Name
	return fmt.Sprintf("network %q is held in cluster %q by Network %s (namespace %q); %s may not register the same name: "+
		"give it another name, or delete %s first (if %s no longer exists, an IDCO admin frees the name with "+
		"\"switchboard-idco admin deregister %s %s\")",
		e.Network, e.Cluster, h, e.Holder.Namespace, a, h, h, e.Cluster, e.Network)
}

// Is makes errors.Is(err, ErrConflict) true.
func (e *NameConflictError) Is(target error) bool { return target == ErrConflict }

// holderConflict returns the error refusing r if another local Network
// holds the cluster's registration of r's network among regs, else nil.
// A holder recorded without a namespace (none is, since namespaces are
// required) would be replaced.
func holderConflict(regs []Registration, r Registration) error {
	old, ok := registrationOf(regs, r.Cluster)
	if !ok || old.Namespace == "" || (old.Namespace == r.Namespace && old.Name == r.Name) {
		return nil
	}
	return &NameConflictError{Network: r.Network, Cluster: r.Cluster,
		Holder: LocalNetwork{Namespace: old.Namespace, Name: old.Name}, Asker: LocalNetwork{Namespace: r.Namespace, Name: r.Name}}
}
