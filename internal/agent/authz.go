package agent

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/containernetworking/cni/pkg/types"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"

	sbv1 "switchboard/api/v1alpha1"
)

// An ext-vnet network admits a pod only on the operator's word: in
// inter-cluster mode the operator checks the pod's token against the
// access lists and the provider (IDCO) and records its decision in the
// pod's Authorization, a cluster-scoped object named by the pod's UID that
// only the operator may write (users cannot forge it, as they could a pod
// annotation). The agent reads it from the API server (never a cache: the
// decision is written moments before the sandbox is made) and waits a
// little for it, as the operator decides while the pod is being scheduled.

// Timing of the wait for the operator's decision.
const (
	authPoll = 200 * time.Millisecond
	authWait = 15 * time.Second
)

// authVerdict is what an Authorization says about one network.
type authVerdict int

const (
	authPending authVerdict = iota // no decision yet
	authAllowed
	authRefused
)

// authorizationFor reads the decision on network key ("<ns>/<name>") for
// pod from az at time now. It trusts az only if it is the record of pod:
// named by its UID and naming its namespace, name and UID. It allows only
// a decision that is Allowed, has not expired (no expiry: none known) and
// carries the IDCO's authorization ID: a decision without one was not made
// by the operator. For a refusal, why says what is wrong and how to fix it.
func authorizationFor(az *sbv1.Authorization, pod sbv1.PodRef, key string, now time.Time) (v authVerdict, why string) {
	if az.Name != pod.UID || az.Spec.Pod != pod {
		p := az.Spec.Pod
		return authRefused, fmt.Sprintf("Authorization %s is for pod %s/%s (UID %s), not this one, so the operator did not write it: delete it and let the operator decide",
			az.Name, p.Namespace, p.Name, p.UID)
	}
	d, ok := az.Spec.Decision(key)
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
		return authRefused, fmt.Sprintf("the decision in Authorization %s has no authorization ID, so the operator did not make it: delete it and let the operator decide", az.Name)
	case d.Expires != nil && !now.Before(d.Expires.Time):
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
	var (
		lastErr error
		missing string // what is not there yet
	)
	for {
		az, err := a.readAuthorization(ctx, &pod)
		var re *requestError
		switch {
		case errors.As(err, &re):
			return err
		case err != nil:
			lastErr = err
		case az == nil:
			lastErr, missing = nil, fmt.Sprintf("no Authorization object %s", pod.UID)
		default:
			switch v, why := authorizationFor(az, pod, key, time.Now()); v {
			case authAllowed:
				return nil
			case authRefused:
				return badRequest(fmt.Sprintf("pod %s/%s may not join ext-vnet network %s: %s", pod.Namespace, pod.Name, key, why))
			}
			lastErr, missing = nil, fmt.Sprintf("no entry for %s in Authorization %s", key, pod.UID)
		}
		select {
		case <-ctx.Done():
			if lastErr != nil {
				return lastErr
			}
			return &requestError{code: types.ErrTryAgainLater, msg: fmt.Sprintf(
				"the operator has not decided whether pod %s/%s may join ext-vnet network %s (%s after %s): is switchboard-operator running with --inter-cluster?",
				pod.Namespace, pod.Name, key, missing, authWait)}
		case <-t.C:
		}
	}
}

// readAuthorization reads the Authorization named by pod's UID from the
// API server, or nil if there is none (yet). It first learns the UID from
// the pod if the runtime did not give it (no K8S_POD_UID). When there is
// no record, it looks at the pod, so that a pod recreated under the same
// name (a bad request) is told from a decision not made yet.
func (a *Agent) readAuthorization(ctx context.Context, pod *sbv1.PodRef) (*sbv1.Authorization, error) {
	if pod.UID == "" {
		if err := a.checkPod(ctx, pod); err != nil {
			return nil, err
		}
	}
	az := &sbv1.Authorization{}
	err := a.apiReader.Get(ctx, client.ObjectKey{Name: pod.UID}, az)
	if err == nil {
		return az, nil
	}
	if !apierrors.IsNotFound(err) {
		return nil, fmt.Errorf("get authorization %s of pod %s/%s: %w", pod.UID, pod.Namespace, pod.Name, err)
	}
	return nil, a.checkPod(ctx, pod)
}

// checkPod reads pod from the API server: it sets pod's UID if unknown,
// and returns a bad request if the pod now has another UID (it was
// recreated under the same name).
func (a *Agent) checkPod(ctx context.Context, pod *sbv1.PodRef) error {
	var p corev1.Pod
	if err := a.apiReader.Get(ctx, client.ObjectKey{Namespace: pod.Namespace, Name: pod.Name}, &p); err != nil {
		return fmt.Errorf("get pod %s/%s for its UID: %w", pod.Namespace, pod.Name, err)
	}
	if pod.UID == "" {
		pod.UID = string(p.UID)
	}
	if string(p.UID) != pod.UID {
		return badRequest(fmt.Sprintf("pod %s/%s was recreated (UID %s, the runtime asks for %s): not attaching the old sandbox", pod.Namespace, pod.Name, p.UID, pod.UID))
	}
	return nil
}
