package agent

import (
	"context"
	"fmt"
	"time"

	"github.com/containernetworking/cni/pkg/types"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	sbv1 "switchboard/api/v1alpha1"
)

// An ext-vnet network admits a pod only on the operator's word: in
// inter-cluster mode the operator checks the pod's token against the
// access lists and the provider (IDCO) and records its decision in the
// pod's annotation switchboard.dev/authorizations. The agent reads it from
// the API server (never a cache: the decision is written moments before
// the sandbox is made) and waits a little for it, as the operator decides
// while the pod is being scheduled.

// Timing of the wait for the operator's decision.
const (
	authPoll = 200 * time.Millisecond
	authWait = 15 * time.Second
)

// authVerdict is what the annotation says about one network.
type authVerdict int

const (
	authPending authVerdict = iota // no decision yet
	authAllowed
	authRefused
)

// authorizationFor reads the decision on network key ("<ns>/<name>") from
// a pod's annotations at time now. It allows only a decision that is
// Allowed, has not expired (no expiry: none known) and carries the IDCO's
// authorization ID: a decision without one was not made by the operator.
// For a refusal, why says what is wrong and how to fix it.
func authorizationFor(annotations map[string]string, key string, now time.Time) (v authVerdict, why string) {
	all, err := sbv1.PodAuthorizations(annotations)
	if err != nil {
		return authRefused, err.Error()
	}
	d, ok := all[key]
	switch {
	case !ok:
		return authPending, ""
	case !d.Allowed:
		reason := d.Reason
		if reason == "" {
			reason = "Refused"
		}
		return authRefused, fmt.Sprintf("%s: %s", reason, d.Detail)
	case d.ID == "":
		return authRefused, fmt.Sprintf("the decision in annotation %s has no authorization ID, so the operator did not make it: remove it and let the operator decide", sbv1.AnnotationAuthorizations)
	case d.Expires != nil && !now.Before(*d.Expires):
		return authRefused, fmt.Sprintf("Expired: the authorization ended at %s (the token's expiry): sign a new token, update the pod's token Secret and recreate the pod", d.Expires.UTC().Format(time.RFC3339))
	}
	return authAllowed, ""
}

// awaitAuthorization returns nil once the operator allows pod onto the
// ext-vnet network n; a refusal is a bad request that says why; no
// decision within authWait is ErrTryAgainLater.
func (a *Agent) awaitAuthorization(ctx context.Context, n *sbv1.Network, pod sbv1.PodRef) error {
	key := sbv1.AuthorizationKey(n.Namespace, n.Name)
	ctx, cancel := context.WithTimeout(ctx, authWait)
	defer cancel()
	t := time.NewTicker(authPoll)
	defer t.Stop()
	var lastErr error
	for {
		var p corev1.Pod
		err := a.apiReader.Get(ctx, client.ObjectKey{Namespace: pod.Namespace, Name: pod.Name}, &p)
		switch {
		case err != nil:
			lastErr = fmt.Errorf("get pod %s/%s for its authorizations: %w", pod.Namespace, pod.Name, err)
		case pod.UID != "" && string(p.UID) != pod.UID:
			return badRequest(fmt.Sprintf("pod %s/%s was recreated (UID %s, the runtime asks for %s): not attaching the old sandbox", pod.Namespace, pod.Name, p.UID, pod.UID))
		default:
			switch v, why := authorizationFor(p.Annotations, key, time.Now()); v {
			case authAllowed:
				return nil
			case authRefused:
				return badRequest(fmt.Sprintf("pod %s/%s may not join ext-vnet network %s: %s", pod.Namespace, pod.Name, key, why))
			}
			lastErr = nil
		}
		select {
		case <-ctx.Done():
			if lastErr != nil {
				return lastErr
			}
			return &requestError{code: types.ErrTryAgainLater, msg: fmt.Sprintf(
				"the operator has not decided whether pod %s/%s may join ext-vnet network %s (no %q entry in its %s annotation after %s): is switchboard-operator running with --inter-cluster?",
				pod.Namespace, pod.Name, key, key, sbv1.AnnotationAuthorizations, authWait)}
		case <-t.C:
		}
	}
}
