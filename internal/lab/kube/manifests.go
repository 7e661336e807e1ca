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
		b.WriteString(TestboxPod(ns, fmt.Sprintf("pod%d", i+1), "testbox", n.Name, annotations))
	}
	return b.String()
}

// TestboxPod is one testbox pod of TestboxPods, named name and labelled
// app=app, as a manifest document (starting with "---").
func TestboxPod(ns, name, app, node, annotations string) string {
	return fmt.Sprintf(`---
apiVersion: v1
kind: Pod
metadata:
  name: %s
  namespace: %s
  labels: {app: %s}
  annotations: {%s}
spec:
`, name, ns, app, annotations) + TestboxSpec(node, "  ")
}

// TestboxSpec is the body of a testbox pod's spec on node (netcheck serve,
// ready when it answers /healthz), each line indented by indent: for a
// Pod's spec "  ", for a Deployment's template "      ".
func TestboxSpec(node, indent string) string {
	spec := fmt.Sprintf(`nodeSelector: {kubernetes.io/hostname: %s}
terminationGracePeriodSeconds: 1
containers:
- name: box
  image: %s
  imagePullPolicy: Never
  args: [netcheck, serve]
  readinessProbe:
    httpGet: {path: /healthz, port: 8080}
    periodSeconds: 1
`, node, lab.TestboxImage)
	return indent + strings.ReplaceAll(strings.TrimSuffix(spec, "\n"), "\n", "\n"+indent) + "\n"
}
