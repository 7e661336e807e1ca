package intercluster

import (
	"fmt"

	ctrl "sigs.k8s.io/controller-runtime"
)

// eventSource is the component name on the events this package records,
// the operator's.
const eventSource = "switchboard-operator"

// SetupWithManager adds to mgr what inter-cluster mode runs besides
// registration: the PodReconciler, which decides whether pods may join
// ext-vnet networks; the Watcher, which carries the providers' revocations
// to the pods and releases the authorizations of pods that are gone, with
// ProviderUse, which has it watch exactly the providers that Networks use;
// and the AuthorizationCollector, which deletes the records of pods that
// are gone.
func (r *Registrar) SetupWithManager(mgr ctrl.Manager) error {
	rec := mgr.GetEventRecorderFor(eventSource)
	w := &Watcher{Client: mgr.GetClient(), APIReader: mgr.GetAPIReader(), Recorder: rec, Providers: r}
	if err := mgr.Add(w); err != nil {
		return fmt.Errorf("add authorization watcher: %w", err)
	}
	if err := (&ProviderUse{Watcher: w}).SetupWithManager(mgr); err != nil {
		return fmt.Errorf("set up provider use controller: %w", err)
	}
	pods := &PodReconciler{Client: mgr.GetClient(), APIReader: mgr.GetAPIReader(), Recorder: rec, Providers: r, Watcher: w}
	if err := pods.SetupWithManager(mgr); err != nil {
		return fmt.Errorf("set up pod authorization controller: %w", err)
	}
	gc := &AuthorizationCollector{Client: mgr.GetClient(), APIReader: mgr.GetAPIReader(), Watcher: w}
	if err := gc.SetupWithManager(mgr); err != nil {
		return fmt.Errorf("set up authorization collector: %w", err)
	}
	return nil
}
