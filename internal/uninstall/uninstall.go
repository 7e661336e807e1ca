// Package uninstall tells a daemon that is stopping whether Switchboard is
// being uninstalled (its DaemonSet is gone or going) or only restarted, so
// that what it keeps in the kernel across restarts (nftables tables) is
// removed with Switchboard and never absent while Switchboard runs.
package uninstall

import (
	"context"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// Timeout bounds the check at shutdown; the DaemonSets give their pods
// 5 s to stop.
const Timeout = 3 * time.Second

// Check says whether the daemon's DaemonSet ds is gone or going, and why
// it thinks so. When it cannot tell, the answer is no: keeping the rules
// is the safe mistake. Give it an uncached reader.
func Check(ctx context.Context, r client.Reader, ds types.NamespacedName) (bool, string) {
	if ds.Name == "" || ds.Namespace == "" {
		return false, "the daemon does not know its DaemonSet (set POD_NAMESPACE and its --daemonset flag)"
	}
	var d appsv1.DaemonSet
	err := r.Get(ctx, ds, &d)
	switch {
	case apierrors.IsNotFound(err):
		return true, "DaemonSet " + ds.String() + " is gone"
	case apierrors.IsForbidden(err), apierrors.IsUnauthorized(err):
		// Uninstalling removes the daemon's ServiceAccount and RBAC with
		// its DaemonSet, possibly first.
		return true, "the daemon's access to the API was removed: " + err.Error()
	case err != nil:
		return false, "cannot read DaemonSet " + ds.String() + ": " + err.Error()
	case d.DeletionTimestamp != nil:
		return true, "DaemonSet " + ds.String() + " is being deleted"
	}
	return false, "DaemonSet " + ds.String() + " exists: a restart"
}
