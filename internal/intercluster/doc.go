// Package intercluster is the operator's side of inter-cluster networks
// (type ext-vnet, seed 000): it registers each such Network with its
// provider, the inter-domain connectivity orchestrator (IDCO), together
// with where the cluster's edge device meets the network's local segment,
// and deregisters it before it goes. The IDCO records the registration and
// connects nothing until a pod is authorized.
//
// It also decides whether pods may join such networks (PodReconciler),
// recording each decision in the pod's Authorization, a cluster-scoped
// object named by the pod's UID that only the operator writes; carries the
// providers' revocations to the pods (Watcher); and deletes the
// Authorizations of pods that are gone (AuthorizationCollector). See
// "Authorizing pods" in docs/inter-cluster.md.
//
// Providers are reached over HTTPS with the client certificate that
// "switchboard-idco enrol" issued to this cluster: one directory per
// provider name under the operator's certificate directory, holding
// ca.crt, tls.crt and tls.key.
package intercluster
