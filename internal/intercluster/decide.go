package intercluster

import (
	"context"
	"errors"
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"switchboard/api/v1alpha1"
	"switchboard/internal/idco"
	"switchboard/internal/podnet"
	"switchboard/internal/token"
)

// Reasons of refusals the operator gives itself, beside the token
// package's and the IDCO's.
const (
	// ReasonNoToken: the pod names no Secret holding a token.
	ReasonNoToken = "NoToken"
	// ReasonNotInAccessList: this cluster's access list lacks the user.
	ReasonNotInAccessList = idco.ReasonNotInAccessList
	// ReasonProviderRejected: the IDCO refused the request itself as
	// invalid (a name it does not accept).
	ReasonProviderRejected = "ProviderRejected"
)

// decide makes the decision on pod joining the ext-vnet network net (known
// to the pod as ref): the token, this cluster's access list, then the
// IDCO. An error means no decision could be made (the IDCO is unreachable
// or the API server failed) and the caller should retry.
func (r *PodReconciler) decide(ctx context.Context, pod *corev1.Pod, ref podnet.Ref, net *v1alpha1.Network) (v1alpha1.NetworkDecision, error) {
	out := v1alpha1.NetworkDecision{Network: ref.String()}
	raw, why, err := findToken(ctx, r.APIReader, pod, net.Name)
	if err != nil {
		return out, err
	}
	if raw == "" {
		out.Reason = ReasonNoToken
		out.Detail = fmt.Sprintf("no token for network %s: %s; sign one and store it as a Secret with "+
			"\"switchboard token sign --network %s --user USER --key KEY | kubectl apply -n %s -f -\", "+
			"then annotate the pod with %s=<secret name> (default name %s-USER-token)",
			ref, why, net.Name, pod.Namespace, token.AnnotationSecret, net.Name)
		return out, nil
	}
	if claims, err := token.Parse(raw); err == nil {
		out.User = claims.User
	}
	if len(net.Spec.AccessList) > 0 {
		if reason, detail := r.checkAccessList(ctx, raw, ref, net, out.User); reason != "" {
			out.Reason, out.Detail = reason, detail
			return out, nil
		}
	}
	c, err := r.Providers.Client(net.Spec.Provider)
	if err != nil {
		return out, err
	}
	d, err := c.Authorize(ctx, r.Providers.Cluster(), idco.PodAuthorization{
		Network: net.Name, Namespace: pod.Namespace, Pod: pod.Name, Token: raw,
	})
	if errors.Is(err, idco.ErrInvalid) {
		out.Reason, out.Detail = ReasonProviderRejected, fmt.Sprintf("provider %q rejected the request: %v", net.Spec.Provider.Name, err)
		return out, nil
	}
	if err != nil {
		return out, fmt.Errorf("ask provider %q (%s) about network %s: %w", net.Spec.Provider.Name, net.Spec.Provider.Domain, ref, err)
	}
	out.Allowed, out.Reason, out.Detail, out.ID = d.Allowed, d.Reason, d.Detail, d.AuthorizationID
	if !d.Expires.IsZero() {
		exp := metav1.NewTime(d.Expires)
		out.Expires = &exp
	}
	return out, nil
}

// checkAccessList verifies raw against this cluster's access list of net
// and returns the reason and detail of a refusal, or "" if the list admits
// the token.
func (r *PodReconciler) checkAccessList(ctx context.Context, raw string, ref podnet.Ref, net *v1alpha1.Network, user string) (string, string) {
	keys := token.StaticKeys{}
	for _, e := range net.Spec.AccessList {
		pub, err := token.ParsePublicKeyPEM([]byte(e.PublicKey))
		if err != nil {
			continue // the Network's Ready condition reports a bad key
		}
		k, err := token.NewKey(pub)
		if err != nil {
			continue
		}
		keys[e.User] = append(keys[e.User], k)
	}
	cluster := r.Providers.Cluster()
	_, err := token.Verify(ctx, raw, keys, token.Expect{Network: net.Name, Cluster: cluster})
	if err == nil {
		return "", ""
	}
	reason, ok := token.ReasonOf(err)
	switch {
	case !ok:
		return string(token.ReasonMalformed), err.Error()
	case reason == token.ReasonUnknownUser:
		return ReasonNotInAccessList, fmt.Sprintf(
			"user %q is not on the access list of network %s in cluster %q: add the user and their public key (the .pub file of \"switchboard keys new\") to the Network's spec.accessList",
			user, ref, cluster)
	}
	return string(reason), err.Error()
}

// findToken returns the token for network among the Secrets the pod names:
// those listed (comma-separated) in its token-secret annotation, or else
// its secret volumes. A token whose claims name network is preferred;
// otherwise the first token found is used, and verifying it says what is
// wrong. With no token, why says what was looked at.
func findToken(ctx context.Context, reader client.Reader, pod *corev1.Pod, network string) (raw, why string, err error) {
	var names []string
	if v := pod.Annotations[token.AnnotationSecret]; strings.TrimSpace(v) != "" {
		for n := range strings.SplitSeq(v, ",") {
			if n = strings.TrimSpace(n); n != "" {
				names = append(names, n)
			}
		}
	} else {
		for _, v := range pod.Spec.Volumes {
			if v.Secret != nil && v.Secret.SecretName != "" {
				names = append(names, v.Secret.SecretName)
			}
		}
	}
	if len(names) == 0 {
		return "", fmt.Sprintf("the pod has no %s annotation and mounts no Secret", token.AnnotationSecret), nil
	}
	var notes []string
	for _, name := range names {
		var s corev1.Secret
		err := reader.Get(ctx, types.NamespacedName{Namespace: pod.Namespace, Name: name}, &s)
		if apierrors.IsNotFound(err) {
			notes = append(notes, fmt.Sprintf("Secret %q does not exist", name))
			continue
		}
		if err != nil {
			return "", "", fmt.Errorf("get secret %s/%s: %w", pod.Namespace, name, err)
		}
		t, err := token.FromSecretData(s.Data)
		if err != nil {
			notes = append(notes, fmt.Sprintf("Secret %q holds no token (data key %q)", name, token.SecretKeyToken))
			continue
		}
		if c, err := token.Parse(t); err == nil && c.Network == network {
			return t, "", nil
		}
		if raw == "" {
			raw = t
		}
	}
	return raw, strings.Join(notes, ", "), nil
}
