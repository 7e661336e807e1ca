package kube

import (
	"testing"

	"sigs.k8s.io/yaml"
)

// The manifests parse as YAML with the pod spec where Kubernetes reads it.
func TestTestboxManifestsParse(t *testing.T) {
	var pod struct {
		Spec struct {
			NodeSelector map[string]string `json:"nodeSelector"`
			Containers   []struct {
				Image string   `json:"image"`
				Args  []string `json:"args"`
			} `json:"containers"`
		} `json:"spec"`
	}
	doc := TestboxPod("ns", "p", "app", "a-node1", "x: y")[len("---\n"):]
	if err := yaml.Unmarshal([]byte(doc), &pod); err != nil {
		t.Fatalf("%v\n%s", err, doc)
	}
	if pod.Spec.NodeSelector["kubernetes.io/hostname"] != "a-node1" || len(pod.Spec.Containers) != 1 || pod.Spec.Containers[0].Args[0] != "netcheck" {
		t.Errorf("pod spec %+v from\n%s", pod.Spec, doc)
	}
}

// TestboxSpec indented for a Deployment's template lands under
// spec.template.spec.
func TestTestboxSpecInATemplate(t *testing.T) {
	var d struct {
		Spec struct {
			Template struct {
				Spec struct {
					NodeSelector map[string]string `json:"nodeSelector"`
				} `json:"spec"`
			} `json:"template"`
		} `json:"spec"`
	}
	doc := "kind: Deployment\nspec:\n  template:\n    spec:\n" + TestboxSpec("b-node2", "      ")
	if err := yaml.Unmarshal([]byte(doc), &d); err != nil {
		t.Fatalf("%v\n%s", err, doc)
	}
	if d.Spec.Template.Spec.NodeSelector["kubernetes.io/hostname"] != "b-node2" {
		t.Errorf("template spec %+v from\n%s", d.Spec.Template.Spec, doc)
	}
}
