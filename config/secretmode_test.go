package config

import (
	"strings"
	"testing"

	"sigs.k8s.io/yaml"
)

// TestSecretVolumesArePrivate: every Secret volume in the manifests (the
// IDCO client keys, tls.key) is mounted with a defaultMode that gives
// nobody but the owner (root, which the workloads run as) any access; the
// kubelet's default is 0644.
func TestSecretVolumesArePrivate(t *testing.T) {
	out, err := Manifests(Params{ClusterCIDR: "10.10.0.0/16", ServiceCIDR: "10.96.0.0/16", InterCluster: &InterCluster{
		ClusterName: "a", EdgeNode: "a-node1", GatewayLabel: "gw=true", WANDevice: "wan0",
		Providers: []Provider{{Name: "lab-idco", Address: "198.19.0.1:8443"}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	found := 0
	for _, doc := range strings.Split(out, "\n---\n") {
		var obj struct {
			Kind     string `json:"kind"`
			Metadata struct {
				Name string `json:"name"`
			} `json:"metadata"`
			Spec struct {
				Template struct {
					Spec podSpec `json:"spec"`
				} `json:"template"`
				podSpec
			} `json:"spec"`
		}
		if err := yaml.Unmarshal([]byte(doc), &obj); err != nil {
			t.Fatalf("a document does not parse: %v\n%s", err, doc)
		}
		what := obj.Kind + " " + obj.Metadata.Name
		for _, v := range append(obj.Spec.Template.Spec.Volumes, obj.Spec.Volumes...) {
			if v.Secret != nil {
				found++
				checkModes(t, what+" volume "+v.Name, v.Secret.DefaultMode, v.Secret.Items)
			}
			if v.Projected != nil {
				for _, s := range v.Projected.Sources {
					if s.Secret != nil {
						found++
						checkModes(t, what+" projected volume "+v.Name, v.Projected.DefaultMode, s.Secret.Items)
					}
				}
			}
		}
	}
	if found == 0 {
		t.Fatal("no Secret volume in the inter-cluster manifests: the test checks nothing")
	}
}

type podSpec struct {
	Volumes []struct {
		Name   string `json:"name"`
		Secret *struct {
			DefaultMode *int32    `json:"defaultMode"`
			Items       []keyPath `json:"items"`
		} `json:"secret"`
		Projected *struct {
			DefaultMode *int32 `json:"defaultMode"`
			Sources     []struct {
				Secret *struct {
					Items []keyPath `json:"items"`
				} `json:"secret"`
			} `json:"sources"`
		} `json:"projected"`
	} `json:"volumes"`
}

type keyPath struct {
	Key  string `json:"key"`
	Mode *int32 `json:"mode"`
}

func checkModes(t *testing.T, what string, defaultMode *int32, items []keyPath) {
	t.Helper()
	switch {
	case defaultMode == nil:
		t.Errorf("%s has no defaultMode: set defaultMode: 0400", what)
	case *defaultMode&0o077 != 0:
		t.Errorf("%s has defaultMode %#o: want no group or other bits (0400)", what, *defaultMode)
	}
	for _, it := range items {
		if it.Mode != nil && *it.Mode&0o077 != 0 {
			t.Errorf("%s item %s has mode %#o: want no group or other bits", what, it.Key, *it.Mode)
		}
	}
}
