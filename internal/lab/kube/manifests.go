package kube

import (
	"fmt"
	"strings"

	"switchboard/internal/lab"
)

// TestboxPods returns a manifest with namespace ns and one testbox pod per
// entry of nodes (pod1, pod2, ...), placed on that node by the scheduler
// (a nodeSelector, as users place pods, rather than spec.nodeName, which
// skips the scheduler and its gates), labelled app=testbox,
// serving netcheck on :8080 (HTTP) and :5001 (TCP sink), with the given
// annotations (a YAML flow-map body, e.g. `k8s.v1.cni.cncf.io/networks: side`).
func TestboxPods(ns string, nodes []lab.Node, annotations string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "apiVersion: v1\nkind: Namespace\nmetadata: {name: %s}\n", ns)
	for i, n := range nodes {
		fmt.Fprintf(&b, `---
apiVersion: v1
kind: Pod
metadata:
  name: pod%d
  namespace: %s
  labels: {app: testbox}
  annotations: {%s}
spec:
  nodeSelector: {kubernetes.io/hostname: %s}
  terminationGracePeriodSeconds: 1
  containers:
  - name: box
    image: %s
    imagePullPolicy: Never
    args: [netcheck, serve]
    readinessProbe:
      httpGet: {path: /healthz, port: 8080}
      periodSeconds: 1
`, i+1, ns, annotations, n.Name, lab.TestboxImage)
	}
	return b.String()
}
