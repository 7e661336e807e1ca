// Package admission is the operator's validating admission webhook. It
// refuses, when a pod is created (or its k8s.v1.cni.cncf.io/networks
// annotation changed), what CNI ADD would refuse later with the pod stuck
// in ContainerCreating: a malformed annotation, a Network the pod's
// namespace may not use (v1alpha1.Network.CheckNamespace, the agent's own
// rule), a static address outside the Network's pool or held by another
// live pod, an interface name that clashes within the pod or that the
// kernel would refuse; and it enforces the namespace's NetworkQuotas on
// pods and Networks. Every refusal names the annotation element or the
// quota field and says how to fix it.
//
// Validator holds the decisions and reads the world through a
// client.Reader (the operator's cache); it knows nothing of HTTP. The
// handlers in webhook.go translate admission requests to it, and
// QuotaReconciler keeps each NetworkQuota's status.used, counted by the
// same code that enforces it.
//
// What it does not do: a name that no Network has yet is let through (the
// Network may be created after the pod; the agent refuses at ADD if it
// never is, and a NetworkAttachmentDefinition of another plugin is not
// Switchboard's to judge); two pods created at once asking for the same
// static address both pass (the first attached wins, the agent refuses
// the second); quota checks read the cache, so pods created in the same
// instant can overrun a limit by a few (status shows it; nothing is
// evicted). The agent keeps its own checks at ADD (defence in depth).
package admission
